"""Payment pages: the list, a payment with what it paid, its receipt and reversal, a
customer's payments tab and the collect-cash form."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import Access, access_of
from ispbills.core.errors import DomainError
from ispbills.core.views import (
    ObjectActionView,
    ObjectDetailView,
    ObjectListView,
    ScopedViewMixin,
    ServiceFormView,
)
from ispbills.customers.models import Customer
from ispbills.payments import services
from ispbills.payments.exports import PAYMENT_EXPORT
from ispbills.payments.filtersets import (
    GatewayAccountFilterSet,
    PaymentAttemptFilterSet,
    PaymentFilterSet,
)
from ispbills.payments.forms import (
    CollectCashForm,
    GatewayAccountForm,
    OperatorTopUpForm,
    PaymentLinkForm,
    ResolveAttemptForm,
    ReversePaymentForm,
)
from ispbills.payments.gateways import gateway_class, links
from ispbills.payments.gateways import services as gateways
from ispbills.payments.models import GatewayAccount, Payment, PaymentAttempt
from ispbills.payments.tables import GatewayAccountTable, PaymentAttemptTable, PaymentTable
from ispbills.tenancy.models import Operator


class PaymentListView(ObjectListView):
    model = Payment
    table_class = PaymentTable
    filterset_class = PaymentFilterSet
    title = gettext_lazy("Payments")
    export = PAYMENT_EXPORT
    keyset_pagination = True

    def base_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.select_related("customer", "collector")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}


class PaymentDetailView(ObjectDetailView):
    model = Payment
    template_name = "payments/payment_detail.html"

    def base_queryset(self) -> QuerySet[Payment]:
        return Payment.objects.select_related("customer", "collector", "reverses", "tenant")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        payment, user = self.object, self.request.user
        context["allocations"] = payment.allocations.select_related("bill")
        context["reversal"] = Payment.objects.filter(reverses=payment).first()
        context["show_money"] = access_of(user).can("money.view")
        context["may_reverse"] = (
            payment.kind == Payment.Kind.PAYMENT
            and payment.status == Payment.Status.APPLIED
            and Payment.objects.restrict(user, "change").filter(pk=payment.pk).exists()
        )
        return context


class PaymentReceiptView(PaymentDetailView):
    """A printable money receipt."""

    template_name = "payments/receipt.html"


class PaymentReverseView(ServiceFormView):
    model = Payment
    form_class = ReversePaymentForm
    action = "change"
    title = gettext_lazy("Reverse payment")
    success_message = gettext_lazy("Payment reversed by %(object)s.")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Reverse payment %(number)s") % {"number": self.object.display_number}
        return context

    def perform(self, form: Any) -> Payment:
        return services.reverse_payment(
            actor=self.request.user, payment=self.object, reason=form.cleaned_data["reason"]
        )


class CustomerPaymentsMixin(ScopedViewMixin):
    """Pages of one customer (found with customers.view) that need a payments permission."""

    model = Customer
    payments_permission = "payments.view"

    @classmethod
    def allows(cls, access: Access) -> bool:
        return super().allows(access) and access.can(cls.payments_permission)


class CustomerPaymentsView(CustomerPaymentsMixin, ObjectDetailView):
    """The customer page's Payments tab (loaded by HTMX): payments newest first."""

    template_name = "payments/partials/customer_payments.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        payments = Payment.objects.restrict(user).filter(customer=self.object).order_by("-id")
        access = access_of(user)
        context.update(
            payments=Paginator(payments, 20).get_page(self.request.GET.get("page")),
            show_money=access.can("money.view"),
            may_collect=access.can("payments.add"),
        )
        return context


class CollectCashView(CustomerPaymentsMixin, ServiceFormView):
    """Record cash a staff member received from the customer."""

    payments_permission = "payments.add"
    action = "view"
    form_class = CollectCashForm
    title = gettext_lazy("Collect cash")
    success_message = gettext_lazy("Payment %(object)s recorded.")

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["customer"] = self.object
        kwargs["instance"] = None
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Collect cash from %(customer)s") % {"customer": self.object}
        return context

    def perform(self, form: Any) -> Payment:
        return services.receive_payment(
            actor=self.request.user,
            customer=self.object,
            amount=form.cleaned_data["amount"],
            method=Payment.Method.CASH,
            reference=form.reference_value(),
            bill=form.cleaned_data.get("bill"),
            note=form.cleaned_data.get("note") or "",
            collector=self.request.user,
        )

    def get_success_url_for(self, obj: Any) -> str:
        return str(obj.get_absolute_url())


# -- online payment gateways -------------------------------------------------------------


class GatewayAccountListView(ObjectListView):
    model = GatewayAccount
    table_class = GatewayAccountTable
    filterset_class = GatewayAccountFilterSet
    title = gettext_lazy("Payment gateways")
    add_url_name = "payments:gateway_add"

    def base_queryset(self) -> QuerySet[GatewayAccount]:
        return GatewayAccount.objects.select_related("operator")


class GatewayAccountDetailView(ObjectDetailView):
    model = GatewayAccount
    template_name = "payments/gateway_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account: GatewayAccount = self.object
        saved = account.get_credentials()
        try:
            fields = gateway_class(account.provider).credential_fields
        except KeyError:
            fields = ()
        context["credentials"] = [
            (
                spec.label,
                ("••••••" if spec.secret else saved.get(spec.name, ""))
                if saved.get(spec.name)
                else "—",
            )
            for spec in fields
        ]
        context["may_change"] = (
            GatewayAccount.objects.restrict(self.request.user, "change")
            .filter(pk=account.pk)
            .exists()
        )
        context["exchanges"] = account.exchanges.filter(attempt__isnull=True).order_by("-id")[:20]
        return context


class GatewayAccountCreateView(ServiceFormView):
    model = GatewayAccount
    form_class = GatewayAccountForm
    action = "change"
    title = gettext_lazy("Add a payment gateway")
    success_message = gettext_lazy("Gateway %(object)s saved.")
    template_name = "payments/gateway_form.html"

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["provider"] = self.request.GET.get("provider", "")
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from ispbills.payments.gateways import provider_choices

        context = super().get_context_data(**kwargs)
        context["providers"] = provider_choices()
        context["choose_provider"] = self.object is None and not (
            self.request.GET.get("provider") or self.request.POST.get("provider")
        )
        return context

    def perform(self, form: Any) -> GatewayAccount:
        data = form.cleaned_data
        return gateways.save_account(
            actor=self.request.user,
            operator=data["operator"],
            provider=data["provider"],
            values=form.credentials(),
            **{name: data[name] for name in ACCOUNT_FIELDS},
        )


ACCOUNT_FIELDS = ("label", "enabled", "sandbox", "base_url", "for_customers", "for_operators")


class GatewayAccountEditView(GatewayAccountCreateView):
    title = gettext_lazy("Change payment gateway")

    def perform(self, form: Any) -> GatewayAccount:
        data = form.cleaned_data
        return gateways.save_account(
            actor=self.request.user,
            operator=self.object.operator,
            provider=self.object.provider,
            values=form.credentials(),
            account=self.object,
            **{name: data[name] for name in ACCOUNT_FIELDS},
        )


class GatewayAccountTestView(ObjectActionView):
    model = GatewayAccount
    title = gettext_lazy("Test connection")
    question = gettext_lazy("Call %(object)s with the saved credentials?")
    button = gettext_lazy("Test connection")

    def perform(self, obj: GatewayAccount) -> None:
        ok, message = gateways.test_account(actor=self.request.user, account=obj)
        if not ok:
            raise DomainError(message)


class PaymentAttemptListView(ObjectListView):
    model = PaymentAttempt
    table_class = PaymentAttemptTable
    filterset_class = PaymentAttemptFilterSet
    title = gettext_lazy("Online payments")

    def base_queryset(self) -> QuerySet[PaymentAttempt]:
        return PaymentAttempt.objects.select_related("customer", "payer_operator")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}


class AttentionListView(PaymentAttemptListView):
    """The needs-attention queue: money that moved but not as asked, or answers that stayed
    unknown."""

    title = gettext_lazy("Payments needing attention")

    def base_queryset(self) -> QuerySet[PaymentAttempt]:
        return super().base_queryset().filter(needs_attention=True)


class PaymentAttemptDetailView(ObjectDetailView):
    model = PaymentAttempt
    template_name = "payments/attempt_detail.html"

    def base_queryset(self) -> QuerySet[PaymentAttempt]:
        return PaymentAttempt.objects.select_related(
            "customer", "payer_operator", "payment", "account", "tenant"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        attempt = self.object
        context["exchanges"] = attempt.exchanges.order_by("id")
        context["show_money"] = access_of(self.request.user).can("money.view")
        context["may_change"] = (
            attempt.state != PaymentAttempt.State.VERIFIED
            and PaymentAttempt.objects.restrict(self.request.user, "change")
            .filter(pk=attempt.pk)
            .exists()
        )
        return context


class AttemptCheckView(ObjectActionView):
    model = PaymentAttempt
    title = gettext_lazy("Verify with the provider")
    question = gettext_lazy("Ask the provider about %(object)s now?")
    button = gettext_lazy("Verify with the provider")

    def perform(self, obj: PaymentAttempt) -> None:
        gateways.check_attempt(obj, actor=self.request.user)


class AttemptResolveView(ServiceFormView):
    model = PaymentAttempt
    form_class = ResolveAttemptForm
    action = "change"
    title = gettext_lazy("Decide this payment")
    success_message = gettext_lazy("%(object)s decided.")

    def get_initial(self) -> dict[str, Any]:
        return {}

    def perform(self, form: Any) -> PaymentAttempt:
        return gateways.resolve_attempt(
            actor=self.request.user,
            attempt=self.object,
            accept=form.cleaned_data["decision"] == "accept",
            note=form.cleaned_data["note"],
        )


class CustomerPaymentLinkView(CustomerPaymentsMixin, ServiceFormView):
    """Make a signed, expiring payment link for the customer (or one bill)."""

    payments_permission = "payments.add"
    action = "view"
    form_class = PaymentLinkForm
    title = gettext_lazy("Payment link")
    template_name = "payments/payment_link.html"
    link = ""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["customer"] = self.object
        kwargs["instance"] = None
        return kwargs

    def get_initial(self) -> dict[str, Any]:
        return {"days": 7}

    def form_valid(self, form: Any) -> Any:
        bill = form.cleaned_data.get("bill")
        self.link = payment_link(
            actor=self.request.user,
            customer=self.object,
            bill=bill,
            days=form.cleaned_data["days"],
        )
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Payment link for %(customer)s") % {"customer": self.object}
        context["link"] = self.link
        return context


class OperatorTopUpView(ServiceFormView):
    """An operator pays its parent online: a balance top-up or its subscription."""

    model = Operator
    action = "view"
    form_class = OperatorTopUpForm
    title = gettext_lazy("Top up online")

    @classmethod
    def allows(cls, access: Access) -> bool:
        return super().allows(access) and access.can("payments.add")

    def get_initial(self) -> dict[str, Any]:
        return {"purpose": "operator_funds"}

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["accounts"] = gateways.accounts_for_operator_topup(self.object)
        kwargs["instance"] = None
        return kwargs

    def perform(self, form: Any) -> PaymentAttempt:
        accounts = {str(a.pk): a for a in gateways.accounts_for_operator_topup(self.object)}
        account = accounts.get(form.cleaned_data["gateway"])
        if account is None:
            raise DomainError(_("Choose how to pay."), fields={"gateway": [_("Required.")]})
        started = gateways.start_attempt(
            actor=self.request.user,
            account=account,
            amount=form.cleaned_data["amount"],
            purpose=form.cleaned_data["purpose"],
            payer_operator=self.object,
            client_ip=self.request.META.get("REMOTE_ADDR", ""),
            return_url=self.object.get_absolute_url(),
        )
        if started.result is None:
            raise DomainError(
                _("The gateway did not open the payment: %(why)s")
                % {"why": started.attempt.message}
            )
        return started.attempt

    def get_success_url_for(self, obj: Any) -> str:
        return str(obj.data.get("start", {}).get("redirect_url") or obj.get_absolute_url())


def payment_link(*, actor: Any, customer: Customer, bill: Any, days: int) -> str:
    """A signed payment link for a customer (or one of its bills), audited."""
    import datetime as dt

    from ispbills.core import audit

    token = links.make_link_token(customer.pk, getattr(bill, "pk", None), dt.timedelta(days=days))
    audit.record(
        actor,
        "payments.link_created",
        customer,
        changes={"bill": [None, getattr(bill, "display_number", "")], "days": [None, days]},
    )
    return links.link_url(token)
