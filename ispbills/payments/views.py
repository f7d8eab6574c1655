"""Payment pages: the list, a payment with what it paid, its receipt and reversal, a
customer's payments tab and the collect-cash form."""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import Access, access_of
from ispbills.core.views import ObjectDetailView, ObjectListView, ScopedViewMixin, ServiceFormView
from ispbills.customers.models import Customer
from ispbills.payments import services
from ispbills.payments.exports import PAYMENT_EXPORT
from ispbills.payments.filtersets import PaymentFilterSet
from ispbills.payments.forms import CollectCashForm, ReversePaymentForm
from ispbills.payments.models import Payment
from ispbills.payments.tables import PaymentTable


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
