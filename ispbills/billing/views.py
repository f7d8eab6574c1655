"""Billing pages: bills, a customer's bills tab and invoice preview, runs, the VAT report."""

import csv
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from ispbills.billing import bulk, proration, services, voids
from ispbills.billing.actions import (
    billing_day,
    may_start_runs,
    noon_of,
    parse_day,
    start_billing_run,
)
from ispbills.billing.exports import BILL_EXPORT
from ispbills.billing.filtersets import (
    BillFilterSet,
    BillingRunFilterSet,
    tenant_today,
)
from ispbills.billing.forms import (
    BillingRunForm,
    BillingSettingsForm,
    BulkGenerateForm,
    VatReportForm,
    VoidBillForm,
)
from ispbills.billing.models import Bill, BillingRun, BillingSettings
from ispbills.billing.reports import vat_report
from ispbills.billing.tables import BillingRunTable, BillTable, named_lines, skipped_summary
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


class BillListView(ObjectListView):
    model = Bill
    table_class = BillTable
    filterset_class = BillFilterSet
    title = gettext_lazy("Bills")
    export = BILL_EXPORT
    keyset_pagination = True
    template_name = "billing/bill_list.html"

    def base_queryset(self) -> QuerySet[Bill]:
        return Bill.objects.select_related("customer", "operator")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if access_of(self.request.user).can("billing.change"):
            context["void_url"] = (
                f"{reverse('billing:bill_bulk_void')}?{filters_query(self.request)}"
            )
        return context


def filters_query(request: HttpRequest) -> str:
    """The list's filters as the query of a bulk page: every row they match."""
    query = QueryDict(mutable=True)
    query["scope"] = "filtered"
    for key, value in request.GET.items():
        if value and key not in {"after", "sort", "page"}:
            query[f"f_{key}"] = str(value)
    return query.urlencode()


def chosen(data: QueryDict) -> tuple[list[int] | None, dict[str, str] | None]:
    """The ticked ids, or (``scope=filtered``) the list filters sent as ``f_<name>``."""
    if data.get("scope") == "filtered":
        return None, {
            key[2:]: str(value) for key, value in data.items() if key[:2] == "f_" and value
        }
    return [int(value) for value in data.getlist("ids") if value.isdigit()], None


class BulkJobView(ScopedViewMixin, TemplateView):
    """A bulk page: what the ticked or filtered rows are, a form, and a job started on submit."""

    template_name = "billing/bulk_form.html"
    form_class: Any = None
    title: Any = ""
    button: Any = ""
    # Each bulk page says which rows it acts on, how it starts its job and what it shows.
    rows: Callable[[list[int] | None, dict[str, str] | None], QuerySet[Any]]
    start: Callable[[Any, list[int] | None, dict[str, str] | None], Any]
    describe: Callable[[QuerySet[Any]], str]

    def initial(self) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.show(self.form_class(initial=self.initial(), user=request.user), request.GET)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "confirm" not in request.POST:  # ticked rows sent from a list: ask first
            return self.show(
                self.form_class(initial=self.initial(), user=request.user), request.POST
            )
        form = self.form_class(request.POST, user=request.user)
        if form.is_valid():
            ids, filters = chosen(request.POST)
            try:
                job = self.start(form, ids, filters)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Queued: %(job)s.") % {"job": job.label})
                return HttpResponseRedirect(reverse("web:job_detail", args=[job.pk]))
        return self.show(form, request.POST)

    def show(self, form: Any, data: QueryDict) -> HttpResponse:
        ids, filters = chosen(data)
        try:
            summary = self.describe(self.rows(ids, filters))
        except DomainError as exc:
            summary, form_error = "", exc.message
        else:
            form_error = ""
        hidden = [("ids", value) for value in data.getlist("ids")]
        hidden += [
            (key, str(value)) for key, value in data.items() if key[:2] == "f_" or key == "scope"
        ]
        return self.render_to_response(
            self.get_context_data(
                form=form,
                summary=summary,
                chosen_error=form_error,
                hidden=hidden,
                title=self.title,
                button=self.button,
            )
        )


class BulkVoidView(BulkJobView):
    """Void the ticked bills or every bill the list's filters match, as a job."""

    model = Bill
    action = "change"
    form_class = VoidBillForm
    title = gettext_lazy("Void bills")
    button = gettext_lazy("Void them")

    def rows(self, ids: list[int] | None, filters: dict[str, str] | None) -> QuerySet[Any]:
        return bulk.chosen_bills(self.request.user, ids, filters).restrict(
            self.request.user, "change"
        )

    def describe(self, rows: QuerySet[Any]) -> str:
        voidable = rows.filter(
            kind=Bill.Kind.INVOICE, paid_amount__lte=F("advance_applied")
        ).exclude(status=Bill.Status.VOID)
        return _(
            "%(count)s bills chosen; %(voidable)s can be voided (the others are void already, "
            "reversals, or have payments on them and are left as they are)."
        ) % {"count": rows.count(), "voidable": voidable.count()}

    def start(self, form: Any, ids: list[int] | None, filters: dict[str, str] | None) -> Any:
        return bulk.start_bulk_void(
            actor=self.request.user, ids=ids, filters=filters, reason=form.cleaned_data["reason"]
        )


class BulkGenerateView(BulkJobView):
    """Issue the bills of the ticked customers or every customer the filters match, as a job."""

    model = Bill
    action = "add"
    form_class = BulkGenerateForm
    title = gettext_lazy("Issue bills")
    button = gettext_lazy("Issue the bills")

    def initial(self) -> dict[str, Any]:
        return {"date": tenant_today(access_of(self.request.user).tenant_id)}

    def rows(self, ids: list[int] | None, filters: dict[str, str] | None) -> QuerySet[Any]:
        return bulk.chosen_customers(self.request.user, ids, filters)

    def describe(self, rows: QuerySet[Any]) -> str:
        return _(
            "%(count)s customers chosen. Those with nothing to bill for the period (billed "
            "already, free package, suspended…) are skipped and counted."
        ) % {"count": rows.count()}

    def start(self, form: Any, ids: list[int] | None, filters: dict[str, str] | None) -> Any:
        tenant_id = access_of(self.request.user).tenant_id
        if tenant_id is None:
            raise DomainError(_("Pick an ISP first."))
        day = billing_day(form.cleaned_data["date"])
        return bulk.start_bulk_generate(
            actor=self.request.user, ids=ids, filters=filters, at=noon_of(day, tenant_id)
        )


class BillDetailView(ObjectDetailView):
    model = Bill
    template_name = "billing/bill_detail.html"

    def get_queryset(self) -> QuerySet[Bill]:
        return super().get_queryset().select_related("customer", "reverses", "created_by")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        bill, user = self.object, self.request.user
        context["lines"] = named_lines(bill)
        context["show_money"] = access_of(user).can("money.view")
        context["reversal"] = bill.reversal
        context["may_void"] = (
            bill.kind == Bill.Kind.INVOICE
            and bill.status != Bill.Status.VOID
            and Bill.objects.restrict(user, "change").filter(pk=bill.pk).exists()
        )
        return context


class BillVoidView(ServiceFormView):
    model = Bill
    form_class = VoidBillForm
    action = "change"
    title = gettext_lazy("Void bill")
    success_message = gettext_lazy("Bill %(object)s voided.")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Void bill %(number)s") % {"number": self.object.display_number}
        return context

    def perform(self, form: Any) -> Bill:
        voids.void_bill(
            actor=self.request.user, bill=self.object, reason=form.cleaned_data["reason"]
        )
        self.object.refresh_from_db()
        return self.object


class CustomerBillingMixin(ScopedViewMixin):
    """Pages of one customer (found with customers.view) that need a billing permission too."""

    model = Customer
    billing_permission = "billing.view"

    @classmethod
    def allows(cls, access: Access) -> bool:
        return super().allows(access) and access.can(cls.billing_permission)


def preview_context(customer: Customer, day: dt.date | None) -> dict[str, Any]:
    """The invoice preview of ``customer`` for ``day`` (default today) of the ISP's calendar."""
    at = noon_of(day, customer.tenant_id) if day else None
    return {"preview": services.preview(customer, at=at), "preview_day": day}


class CustomerBillsView(CustomerBillingMixin, ObjectDetailView):
    """The customer page's Bills tab (loaded by HTMX): bills newest first and the preview."""

    template_name = "billing/partials/customer_bills.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        bills = Bill.objects.restrict(user).filter(customer=self.object).order_by("-number")
        page = Paginator(bills, 20).get_page(self.request.GET.get("page"))
        access = access_of(user)
        context.update(
            bills=page,
            show_money=access.can("money.view"),
            may_generate=access.can("billing.add"),
            **preview_context(self.object, None),
        )
        return context


class InvoicePreviewView(CustomerBillingMixin, ObjectDetailView):
    """What the customer's bill would be for the period holding ``?date=`` (HTMX partial)."""

    template_name = "billing/partials/invoice_preview.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["show_money"] = access_of(self.request.user).can("money.view")
        try:
            context.update(preview_context(self.object, parse_day(self.request.GET.get("date"))))
        except DomainError as exc:
            context["error"] = exc.message
        return context


class GenerateBillView(CustomerBillingMixin, ObjectActionView):
    billing_permission = "billing.add"
    action = "view"
    title = gettext_lazy("Generate bill")
    question = gettext_lazy("Issue %(object)s's bill for the current period now?")
    button = gettext_lazy("Generate bill")

    def perform(self, obj: Customer) -> None:
        bill = services.generate_bill(actor=self.request.user, customer=obj)
        self.bill_url = bill.get_absolute_url()

    def get_success_url(self, obj: Any) -> str:
        return getattr(self, "bill_url", None) or str(obj.get_absolute_url())


class BillingRunListView(ObjectListView):
    model = BillingRun
    table_class = BillingRunTable
    filterset_class = BillingRunFilterSet
    title = gettext_lazy("Billing runs")

    def base_queryset(self) -> QuerySet[BillingRun]:
        return BillingRun.objects.select_related("requested_by")

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if may_start_runs(self.request.user):
            context["add_url"] = reverse("billing:billingrun_add")
        return context


class BillingRunDetailView(ObjectDetailView):
    model = BillingRun
    template_name = "billing/billingrun_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["skipped"] = skipped_summary(self.object.summary.get("skipped", {}))
        context["show_money"] = access_of(self.request.user).can("money.view")
        return context


class BillingRunStartView(ServiceFormView):
    """Start a billing run of the whole ISP as a job (its root operator's staff only)."""

    model = BillingRun
    form_class = BillingRunForm
    title = gettext_lazy("Run billing now")

    @classmethod
    def allows(cls, access: Access) -> bool:
        return super().allows(access) and (access.tenant_wide or access.is_superadmin)

    def get_initial(self) -> dict[str, Any]:
        return {"date": tenant_today(access_of(self.request.user).tenant_id)}

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            run = start_billing_run(actor=self.request.user, day=form.cleaned_data["date"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Billing run queued."))
        return HttpResponseRedirect(reverse("web:job_detail", args=[run.pk]))


class VatReportView(ScopedViewMixin, TemplateView):
    """VAT per rate and operator over a range of days (this month by default); ?format=csv."""

    model = Bill
    template_name = "billing/vat_report.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        today = tenant_today(access_of(request.user).tenant_id)
        first = today.replace(day=1)
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(1)
        form = VatReportForm(request.GET or {"start": first, "end": last})
        rows = vat_report(request.user, **form.cleaned_data) if form.is_valid() else []
        if form.is_valid() and request.GET.get("format") == "csv":
            if not access_of(request.user).can("billing.export"):
                raise PermissionDenied(_("You may not export bills."))
            return self.csv(rows, form.cleaned_data["start"], form.cleaned_data["end"])
        return self.render_to_response(self.get_context_data(form=form, rows=rows))

    def csv(self, rows: list[Any], start: dt.date, end: dt.date) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="vat-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerow(["vat_rate", "operator", "taxable", "vat", "total", "bills"])
        for row in rows:
            writer.writerow(
                [row.vat_rate, row.operator, row.taxable, row.vat, row.gross, row.bills]
            )
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rows = kwargs.get("rows", [])
        context.update(
            title=_("VAT report"),
            may_export=access_of(self.request.user).can("billing.export"),
            totals={
                "taxable": sum((row.taxable for row in rows), start=0),
                "vat": sum((row.vat for row in rows), start=0),
                "gross": sum((row.gross for row in rows), start=0),
                "bills": sum(row.bills for row in rows),
            },
        )
        return context


class BillingSettingsView(ServiceFormView):
    """The ISP's billing settings, changed by its group admins."""

    model = BillingSettings
    form_class = BillingSettingsForm
    action = "change"
    title = gettext_lazy("Billing settings")
    success_message = gettext_lazy("Billing settings saved.")

    def get_object(self) -> BillingSettings:
        access = access_of(self.request.user)
        if access.tenant_id is None:
            raise Http404(_("Pick an ISP first."))
        if not (access.tenant_wide or access.is_superadmin):
            raise PermissionDenied(_("Only the ISP's group admins change its billing settings."))
        return proration.settings_for(access.tenant_id)

    def get_initial(self) -> dict[str, Any]:
        return {key: getattr(self.object, key) for key in proration.SETTINGS_FIELDS}

    def perform(self, form: Any) -> BillingSettings:
        return proration.save_settings(
            actor=self.request.user, tenant_id=self.object.tenant_id, **form.cleaned_data
        )

    def get_success_url_for(self, obj: Any) -> str:
        return reverse("billing:settings")
