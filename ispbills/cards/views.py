"""Card pages: batches (generate, issue, void, voucher sheets), cards (search by serial, bulk
void), the usage report, the distributor dashboard (its cards, commission, yearly summary,
customers by mobile), redeeming a PIN for a customer, commissions, distributor payments and
the redemption log."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.cards import pdf, services
from ispbills.cards.exports import CARD_EXPORT
from ispbills.cards.filtersets import (
    CardBatchFilterSet,
    CardFilterSet,
    CommissionFilterSet,
    DistributorPaymentFilterSet,
    RedemptionAttemptFilterSet,
)
from ispbills.cards.forms import (
    BulkVoidForm,
    CardBatchForm,
    CustomerSearchForm,
    DistributorPaymentForm,
    IssueBatchForm,
    RedeemForm,
    VoidForm,
)
from ispbills.cards.models import (
    DISTRIBUTOR,
    Card,
    CardBatch,
    Commission,
    DistributorPayment,
    RedemptionAttempt,
)
from ispbills.cards.tables import (
    CardBatchTable,
    CardTable,
    CommissionTable,
    DistributorPaymentTable,
    RedemptionAttemptTable,
)
from ispbills.core import audit
from ispbills.core.access import Access, access_of
from ispbills.core.errors import DomainError
from ispbills.core.views import ObjectDetailView, ObjectListView, ServiceFormView
from ispbills.customers.models import Customer
from ispbills.payments.models import Payment
from ispbills.tenancy.models import Tenant


def _show_money(request: HttpRequest) -> bool:
    return access_of(request.user).can("money.view")


class MoneyListView(ObjectListView):
    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": _show_money(self.request)}


# ---- batches ---------------------------------------------------------------------------------


class CardBatchListView(MoneyListView):
    model = CardBatch
    table_class = CardBatchTable
    filterset_class = CardBatchFilterSet
    title = gettext_lazy("Card batches")
    add_url_name = "cards:cardbatch_add"
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[CardBatch]:
        return CardBatch.objects.select_related("package", "distributor", "operator")


class CardBatchCreateView(ServiceFormView):
    model = CardBatch
    form_class = CardBatchForm
    title = gettext_lazy("Generate recharge cards")
    success_message = gettext_lazy("Batch %(object)s generated.")

    def perform(self, form: Any) -> CardBatch:
        data = form.cleaned_data
        return services.generate_batch(
            actor=self.request.user,
            operator=data["operator"],
            name=data["name"],
            count=data["count"],
            expires_at=data["expires_at"],
            package=data.get("package"),
            value=data.get("value"),
            distributor=data.get("distributor"),
            commission_percent=data.get("commission_percent") or 0,
            commission_on=data["commission_on"],
        )


class CardBatchDetailView(ObjectDetailView):
    model = CardBatch
    template_name = "cards/cardbatch_detail.html"

    def base_queryset(self) -> QuerySet[CardBatch]:
        return CardBatch.objects.select_related("package", "distributor", "operator", "tenant")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch, user = self.object, self.request.user
        access = access_of(user)
        cards = Card.objects.restrict(user).filter(batch=batch)
        counts = dict(cards.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        context.update(
            states=[(label, counts.get(value, 0)) for value, label in Card.State.choices],
            cards=cards.select_related("customer", "distributor").order_by("serial")[:50],
            show_money=access.can("money.view"),
            may_print=pdf.may_print(user, batch),
            may_issue=access.can("cards.add") and counts.get(Card.State.UNISSUED, 0) > 0,
            may_void=access.can("cards.delete"),
        )
        return context


class CardBatchIssueView(ServiceFormView):
    model = CardBatch
    form_class = IssueBatchForm
    action = "add"
    title = gettext_lazy("Issue cards to a distributor")

    def perform(self, form: Any) -> CardBatch:
        issued = services.issue_batch(
            actor=self.request.user, batch=self.object, distributor=form.cleaned_data["distributor"]
        )
        messages.success(self.request, _("%(n)s cards issued.") % {"n": issued})
        return self.object


class CardBatchVoidView(ServiceFormView):
    model = CardBatch
    form_class = VoidForm
    action = "delete"
    title = gettext_lazy("Void the batch's unused cards")

    def perform(self, form: Any) -> CardBatch:
        voided = services.void_cards(
            actor=self.request.user,
            cards=Card.objects.restrict(self.request.user, "delete").filter(batch=self.object),
            reason=form.cleaned_data["reason"],
        )
        messages.success(self.request, _("%(n)s cards voided.") % {"n": voided})
        return self.object


class CardBatchVouchersView(ObjectDetailView):
    """The batch's voucher sheets: a PDF at once for a small batch; for a large one a page
    whose button queues the job that makes it."""

    model = CardBatch
    action = "change"
    template_name = "cards/vouchers_confirm.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        batch = self.get_object()
        if not pdf.may_print(request.user, batch):
            messages.error(request, _("You do not have permission to print these cards."))
            return redirect(batch.get_absolute_url())
        if not pdf.direct(batch):
            return super().get(request, *args, **kwargs)
        try:
            content = pdf.render_vouchers(batch, request.user, translation.get_language() or "en")
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(batch.get_absolute_url())
        audit.record(request.user, "card_batch.printed", batch)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{batch.display_number}.pdf"'
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        batch = self.get_object()
        try:
            run = pdf.start_vouchers_export(actor=request.user, batch=batch)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(batch.get_absolute_url())
        return redirect("web:job_detail", pk=run.pk)


# ---- cards -----------------------------------------------------------------------------------


class CardListView(MoneyListView):
    model = Card
    table_class = CardTable
    filterset_class = CardFilterSet
    title = gettext_lazy("Recharge cards")
    export = CARD_EXPORT
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[Card]:
        return Card.objects.select_related("batch", "distributor", "customer")


class CardDetailView(ObjectDetailView):
    model = Card
    template_name = "cards/card_detail.html"

    def base_queryset(self) -> QuerySet[Card]:
        return Card.objects.select_related(
            "batch", "distributor", "customer", "payment", "redeemed_by", "package", "tenant"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        access = access_of(self.request.user)
        context["show_money"] = access.can("money.view")
        context["may_void"] = access.can("cards.delete") and self.object.state in (
            Card.State.UNISSUED,
            Card.State.ISSUED,
        )
        context["attempts"] = (
            RedemptionAttempt.objects.restrict(self.request.user)
            .filter(card=self.object)
            .select_related("customer", "user")[:20]
        )
        return context


class CardVoidView(ServiceFormView):
    model = Card
    form_class = VoidForm
    action = "delete"
    title = gettext_lazy("Void card")

    def perform(self, form: Any) -> Card:
        services.void_cards(
            actor=self.request.user,
            cards=Card.objects.filter(pk=self.object.pk),
            reason=form.cleaned_data["reason"],
        )
        return self.object


class CardBulkVoidView(ServiceFormView):
    """Void many unused cards by serial or serial range."""

    model = Card
    form_class = BulkVoidForm
    action = "delete"
    title = gettext_lazy("Void cards")

    def perform(self, form: Any) -> Any:
        singles, ranges = form.serial_filter()
        match = Q(serial__in=singles)
        for first, last in ranges:
            match |= Q(serial__gte=first, serial__lte=last, serial__startswith=first[:7])
        cards = Card.objects.restrict(self.request.user, "delete").filter(match)
        voided = services.void_cards(
            actor=self.request.user, cards=cards, reason=form.cleaned_data["reason"]
        )
        messages.success(self.request, _("%(n)s cards voided.") % {"n": voided})

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("cards:card_list")


class UsageReportView(ObjectListView):
    """Unissued, issued, used, expired and void cards by batch and distributor."""

    model = Card
    filterset_class = CardFilterSet
    template_name = "cards/usage.html"
    title = gettext_lazy("Card usage")

    def get_table_class(self) -> Any:
        from ispbills.cards.tables import UsageTable

        return UsageTable

    def get_table_data(self) -> Any:
        return services.usage_report(self.object_list)


# ---- the distributor's dashboard and redemption ----------------------------------------------


class DashboardView(MoneyListView):
    """A distributor's cards, earnings and yearly summary, and customers by mobile number
    (staff see every distributor in their reach)."""

    model = Card
    table_class = CardTable
    filterset_class = CardFilterSet
    template_name = "cards/dashboard.html"
    title = gettext_lazy("Cards dashboard")
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[Card]:
        return Card.objects.select_related("batch", "distributor", "customer")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        access = access_of(user)
        cards = Card.objects.restrict(user)
        commissions = Commission.objects.restrict(user)
        settlements = DistributorPayment.objects.restrict(user)
        counts = dict(cards.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        search = CustomerSearchForm(self.request.GET or None)
        found: Any = []
        digits = ""
        if search.is_valid():
            digits = "".join(ch for ch in search.cleaned_data["mobile"] if ch.isdigit())
        if len(digits) >= 4:
            found = (
                Customer.objects.restrict(user)
                .filter(mobile__contains=digits)
                .exclude(status=Customer.Status.DELETED)
                .select_related("package")
                .order_by("username")[:20]
            )
        tenant_zone = (
            Tenant.objects.filter(pk=access.tenant_id or 0)
            .values_list("timezone", flat=True)
            .first()
            or settings.DEFAULT_TENANT_TIMEZONE
        )
        context.update(
            states=[(label, counts.get(value, 0)) for value, label in Card.State.choices],
            earned=commissions.aggregate(total=Sum("amount"))["total"],
            paid_out=settlements.filter(kind=DistributorPayment.Kind.PAYOUT).aggregate(
                total=Sum("amount")
            )["total"],
            summary=services.yearly_summary(cards, commissions, settlements, tenant_zone),
            search=search,
            searched=len(digits) >= 4,
            customers=found,
            may_redeem=access.can("cards.change"),
            may_collect=access.can("payments.add"),
            is_distributor=access.role == DISTRIBUTOR,
            history=Payment.objects.restrict(user)
            .filter(Q(collector_id=access.user_id) | Q(card__redeemed_by_id=access.user_id))
            .select_related("customer")
            .order_by("-id")[:20],
        )
        return context


class CustomerRedeemView(ServiceFormView):
    """Redeem a card PIN for a customer the user may serve. The attempt's record commits on
    its own (the lock-out counts refused attempts), so this view does not wrap the service
    in a transaction of its own."""

    model = Customer
    action = "view"
    form_class = RedeemForm
    title = gettext_lazy("Recharge with a card")

    @classmethod
    def allows(cls, access: Access) -> bool:
        return super().allows(access) and access.can("cards.change")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = None
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Recharge %(customer)s with a card") % {"customer": self.object}
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            card = services.redeem_card(
                actor=self.request.user, customer=self.object, pin=form.cleaned_data["pin"]
            )
        except DomainError as exc:
            form.add_error("pin" if "pin" in exc.fields else None, exc.message)
            response = self.form_invalid(form)
            response.status_code = exc.status if exc.status == 429 else 200
            return response
        messages.success(
            self.request,
            _("Card %(serial)s redeemed: payment %(payment)s.")
            % {"serial": card.serial, "payment": card.payment},
        )
        payment: Any = card.payment
        if Payment.objects.restrict(self.request.user).filter(pk=payment.pk).exists():
            return HttpResponseRedirect(payment.get_absolute_url())
        return HttpResponseRedirect(reverse("cards:dashboard"))


# ---- money with distributors -------------------------------------------------------------------


class CommissionListView(MoneyListView):
    model = Commission
    table_class = CommissionTable
    filterset_class = CommissionFilterSet
    title = gettext_lazy("Card commissions")
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[Commission]:
        return Commission.objects.select_related("distributor", "card__batch", "entry")


class DistributorPaymentListView(MoneyListView):
    model = DistributorPayment
    table_class = DistributorPaymentTable
    filterset_class = DistributorPaymentFilterSet
    title = gettext_lazy("Distributor payments")
    add_url_name = "cards:distributorpayment_add"
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[DistributorPayment]:
        return DistributorPayment.objects.select_related("distributor", "entry", "operator")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if access_of(self.request.user).can("accounting.add"):
            context["add_url"] = reverse("cards:distributorpayment_add")
        return context


class DistributorPaymentCreateView(ServiceFormView):
    model = DistributorPayment
    form_class = DistributorPaymentForm
    title = gettext_lazy("Record a distributor payment")
    success_message = gettext_lazy("%(object)s recorded.")

    @classmethod
    def allows(cls, access: Access) -> bool:
        return access.can("cards.view") and access.can("accounting.add")

    def perform(self, form: Any) -> DistributorPayment:
        data = form.cleaned_data
        return services.record_distributor_payment(
            actor=self.request.user,
            operator=data["operator"],
            distributor=data["distributor"],
            kind=data["kind"],
            amount=data["amount"],
            reference=data["reference"],
            note=data.get("note") or "",
        )

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("cards:distributorpayment_list")


class RedemptionAttemptListView(ObjectListView):
    model = RedemptionAttempt
    table_class = RedemptionAttemptTable
    filterset_class = RedemptionAttemptFilterSet
    title = gettext_lazy("Card redemption log")
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[RedemptionAttempt]:
        return RedemptionAttempt.objects.select_related("customer", "user", "card")
