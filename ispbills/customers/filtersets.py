"""Customer and zone filters, shared by the panel, the API and exports."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from ispbills.catalog.models import Package
from ispbills.core.filtersets import ScopedFilterSet
from ispbills.core.mac import MacError, normalize_mac
from ispbills.core.phone import BANGLA_DIGITS
from ispbills.customers.models import AccountingSession, AuthAttempt, Customer, Zone, online_now
from ispbills.radius.models import NasDevice
from ispbills.tenancy.models import Operator


def search_customers(queryset: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    """One box for username, name, mobile, MAC and IP, each answered by an index.

    Digits search the mobile by prefix (01711…, +8801711…, Bangla digits); a MAC or an IP
    matches exactly; other text matches the username by prefix or, from 3 characters on, the
    name by fragment.
    """
    term = term.translate(BANGLA_DIGITS).strip()
    if not term:
        return queryset
    digits = term.replace(" ", "").replace("-", "")
    if digits.lstrip("+").isdigit():
        local = digits.lstrip("+")
        local = local[2:] if local.startswith("88") else local
        prefix = "+88" + local if local.startswith("0") else "+" + digits.lstrip("+")
        return queryset.filter(Q(mobile__startswith=prefix) | Q(username__iexact=term))
    try:
        return queryset.filter(mac_address=normalize_mac(term))
    except MacError:
        pass
    if term.count(".") == 3 and all(part.isdigit() for part in term.split(".")):
        return queryset.filter(static_ipv4=term)
    if ":" in term:
        return queryset.filter(static_ipv6=term)
    upper = term.upper()
    queryset = queryset.annotate(_username=Upper("username"), _name=Upper("name"))
    if len(upper) < 3:  # a trigram index needs 3 characters; shorter would read every row
        return queryset.filter(_username__startswith=upper)
    return queryset.filter(Q(_username__startswith=upper) | Q(_name__contains=upper))


class CustomerFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices, label=_("Status"))
    service_model = django_filters.ChoiceFilter(
        choices=Customer.ServiceModel.choices, label=_("Service")
    )
    zone = django_filters.ModelChoiceFilter(
        queryset=Zone.objects.all(), label=_("Zone"), method="in_zone"
    )
    package = django_filters.ModelChoiceFilter(queryset=Package.objects.all(), label=_("Package"))
    operator = django_filters.ModelChoiceFilter(
        queryset=Operator.objects.all(), label=_("Operator"), method="under_operator"
    )
    expires_after = django_filters.IsoDateTimeFilter(
        field_name="expires_at", lookup_expr="gte", label=_("Expires from")
    )
    expires_before = django_filters.IsoDateTimeFilter(
        field_name="expires_at", lookup_expr="lt", label=_("Expires before")
    )
    is_trial = django_filters.BooleanFilter(label=_("Trial"))
    online = django_filters.BooleanFilter(label=_("Online"), method="by_presence")

    class Meta:
        model = Customer
        fields = [
            "q",
            "status",
            "service_model",
            "zone",
            "package",
            "operator",
            "expires_after",
            "expires_before",
            "is_trial",
            "online",
        ]

    def __init__(self, data: Any = None, queryset: Any = None, **kwargs: Any) -> None:
        super().__init__(data, queryset, **kwargs)
        # The archive has its own page: deleted customers stay out of the list unless asked.
        self.filters["status"].extra["empty_label"] = _("Any but deleted")

    hide_deleted = True

    @property
    def qs(self) -> Any:
        queryset = super().qs
        if self.hide_deleted and not (
            self.form.is_valid() and self.form.cleaned_data.get("status")
        ):
            queryset = queryset.exclude(status=Customer.Status.DELETED)
        return queryset

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return search_customers(queryset, value)

    def by_presence(
        self, queryset: QuerySet[Customer], name: str, value: bool
    ) -> QuerySet[Customer]:
        """Online: an open RADIUS session under the customer's username."""
        return queryset.filter(online_now() if value else ~online_now())

    def in_zone(self, queryset: QuerySet[Customer], name: str, value: Zone) -> QuerySet[Customer]:
        """A zone and every zone inside it (district > thana > area)."""
        ids = {value.pk}
        frontier = {value.pk}
        while frontier:
            frontier = set(Zone.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            frontier -= ids
            ids |= frontier
        return queryset.filter(zone_id__in=ids)

    def under_operator(
        self, queryset: QuerySet[Customer], name: str, value: Operator
    ) -> QuerySet[Customer]:
        return queryset.filter(operator__path__startswith=value.path)


class ArchiveFilterSet(CustomerFilterSet):
    """The deleted-customer archive: the same filters, deleted rows included."""

    hide_deleted = False


class ZoneFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Zone.Kind.choices, label=_("Kind"))
    parent = django_filters.ModelChoiceFilter(queryset=Zone.objects.all(), label=_("Inside"))

    class Meta:
        model = Zone
        fields = ["q", "kind", "parent"]


# ---- RADIUS sessions and the authentication log ---------------------------------------------


class AccountingSessionFilterSet(ScopedFilterSet):
    """Open sessions: by NAS (among the NAS devices the user may see) and username prefix."""

    nas = django_filters.ModelChoiceFilter(
        queryset=NasDevice.objects.all(), label=_("NAS"), method="on_nas"
    )
    username = django_filters.CharFilter(
        field_name="username", lookup_expr="istartswith", label=_("Username")
    )

    class Meta:
        model = AccountingSession
        fields = ["nas", "username"]

    def on_nas(self, queryset: QuerySet[Any], name: str, value: NasDevice) -> QuerySet[Any]:
        return queryset.filter(nas_ip_address=value.address)


class AuthAttemptFilterSet(ScopedFilterSet):
    result = django_filters.ChoiceFilter(
        field_name="reply",
        choices=[("Access-Accept", _("Accepted")), ("Access-Reject", _("Rejected"))],
        label=_("Result"),
    )
    username = django_filters.CharFilter(lookup_expr="exact", label=_("Username"))
    since = django_filters.DateFilter(
        field_name="authdate", lookup_expr="date__gte", label=_("From")
    )
    until = django_filters.DateFilter(
        field_name="authdate", lookup_expr="date__lte", label=_("Until")
    )

    class Meta:
        model = AuthAttempt
        fields = ["result", "username", "since", "until"]
