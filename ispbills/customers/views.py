"""Panel pages: the customer list and archive, detail tabs, forms, lifecycle, bulk work,
zones and custom fields."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ispbills.core.access import access_of
from ispbills.core.errors import DomainError
from ispbills.core.exports import start_export
from ispbills.core.models import AuditEvent
from ispbills.core.views import (
    ObjectDetailView,
    ObjectListView,
    ScopedViewMixin,
    ServiceFormView,
)
from ispbills.customers import services
from ispbills.customers.exports import CUSTOMER_EXPORT
from ispbills.customers.filtersets import ArchiveFilterSet, CustomerFilterSet, ZoneFilterSet
from ispbills.customers.forms import (
    BulkUpdateForm,
    CustomerForm,
    CustomFieldForm,
    ExportForm,
    MacBindForm,
    NoteForm,
    ReasonForm,
    ReplaceForm,
    TransferForm,
    ZoneForm,
    customer_initial,
)
from ispbills.customers.models import Customer, CustomField, Zone, online_now
from ispbills.customers.session_views import radius_context
from ispbills.customers.sessions import sessions_of
from ispbills.customers.tables import CustomerTable, CustomFieldTable, ZoneTable

RELATED = ("zone", "package", "operator")


class CustomerListView(ObjectListView):
    model = Customer
    table_class = CustomerTable
    filterset_class = CustomerFilterSet
    template_name = "customers/customer_list.html"
    title = gettext_lazy("Customers")
    add_url_name = "customers:customer_add"
    keyset_pagination = True  # its export form (columns, CSV or XLSX) replaces the plain button

    def base_queryset(self) -> QuerySet[Customer]:
        return Customer.objects.select_related(*RELATED).annotate(is_online=online_now())

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        access = access_of(self.request.user)
        # The bulk form (four choice lists) loads when opened, keeping the busiest page light.
        context["may_bulk"] = access.can("customers.change")
        if access.can("customers.export"):
            context["export_form"] = ExportForm(user=self.request.user, spec=CUSTOMER_EXPORT)
        return context


class ArchiveListView(CustomerListView):
    """Deleted customers, searchable and restorable."""

    title = gettext_lazy("Deleted customers")
    filterset_class = ArchiveFilterSet
    add_url_name = ""
    template_name = "web/object_list.html"

    def base_queryset(self) -> QuerySet[Customer]:
        return super().base_queryset().filter(status=Customer.Status.DELETED)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_bulk"] = False
        return context


class CustomerDetailView(ObjectDetailView):
    model = Customer
    template_name = "customers/customer_detail.html"

    def base_queryset(self) -> QuerySet[Customer]:
        return Customer.objects.select_related(
            *RELATED, "billing_profile", "parent", "manager", "tenant"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        customer, user = self.object, self.request.user
        access = access_of(user)
        context["show_money"] = access.can("money.view")
        context["may_change"] = access.can("customers.change")
        context["may_delete"] = access.can("customers.delete")
        context["transitions"] = sorted(
            services.TRANSITIONS[customer.status] - {Customer.Status.DELETED}
        )
        context["changes"] = (
            AuditEvent.objects.restrict(user).filter(
                object_type="customers.customer", object_id=str(customer.pk)
            )[:100]
            if access.can("audit.view")
            else None
        )
        context["notes"] = customer.notes.select_related("author")[:50]
        context["note_form"] = NoteForm(user=user)
        context["children"] = Customer.objects.restrict(user).filter(parent=customer)[:20]
        definitions = {d.key: d.label for d in CustomField.objects.restrict(user)}
        context["custom_values"] = [
            (definitions.get(key, key), value) for key, value in customer.custom_fields.items()
        ]
        context.update(radius_context(customer, user))
        context["session_page"] = sessions_of(customer)
        return context


class CustomerCreateView(ServiceFormView):
    model = Customer
    form_class = CustomerForm
    template_name = "customers/customer_form.html"
    title = gettext_lazy("New customer")
    success_message = gettext_lazy("Customer %(object)s created.")

    def perform(self, form: Any) -> Customer:
        return services.register_customer(
            actor=self.request.user, operator=form.cleaned_data["operator"], **form.service_values()
        )


class CustomerEditView(ServiceFormView):
    model = Customer
    form_class = CustomerForm
    template_name = "customers/customer_form.html"
    action = "change"
    title = gettext_lazy("Edit customer")
    success_message = gettext_lazy("Customer %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return customer_initial(self.object)

    def perform(self, form: Any) -> Customer:
        return services.update_customer(
            actor=self.request.user, customer=self.object, **form.service_values()
        )


class StatusChangeView(ServiceFormView):
    """Confirm a lifecycle move (suspend, activate, disable, FUP, delete, restore)."""

    model = Customer
    form_class = ReasonForm
    action = "change"
    template_name = "customers/confirm_status.html"
    success_message = gettext_lazy("Customer %(object)s updated.")
    isolation_url_kwargs = {"to": "suspended"}

    @property
    def target(self) -> str:
        target = str(self.kwargs["to"])
        if target != "restore" and target not in Customer.Status.values:
            raise Http404(_("Unknown status."))
        return target

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["target"] = self.target
        context["title"] = (
            _("Restore customer")
            if self.target == "restore"
            else _("Change status to %(s)s") % {"s": Customer.Status(self.target).label}
        )
        return context

    def perform(self, form: Any) -> Customer:
        reason = form.cleaned_data["reason"]
        if self.target == "restore":
            return services.restore_customer(
                actor=self.request.user, customer=self.object, reason=reason
            )
        return services.change_status(
            actor=self.request.user, customer=self.object, to=self.target, reason=reason
        )

    def still_visible(self, obj: Any) -> bool:
        return True  # a status change never moves a customer out of reach


class TransferView(ServiceFormView):
    model = Customer
    form_class = TransferForm
    action = "change"
    title = gettext_lazy("Transfer customer to another operator")
    success_message = gettext_lazy("Customer %(object)s transferred.")

    def perform(self, form: Any) -> Customer:
        return services.transfer_customer(
            actor=self.request.user,
            customer=self.object,
            to_operator=form.cleaned_data["to_operator"],
            reason=form.cleaned_data["reason"],
        )

    def get_success_url_for(self, obj: Any) -> str:
        if self.still_visible(obj):
            return str(obj.get_absolute_url())
        return reverse("customers:customer_list")

    def form_valid(self, form: Any) -> HttpResponse:
        # Moving a customer to a sibling subtree is allowed for a group admin; the base view's
        # visibility check would refuse it for the actor who can no longer see the customer.
        try:
            with transaction.atomic():
                obj = self.perform(form)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, str(self.success_message) % {"object": obj})
        return redirect(self.get_success_url_for(obj))


class NoteCreateView(ServiceFormView):
    model = Customer
    form_class = NoteForm
    action = "change"
    title = gettext_lazy("Add a note")

    def perform(self, form: Any) -> Customer:
        services.add_note(
            actor=self.request.user, customer=self.object, text=form.cleaned_data["text"]
        )
        return self.object

    def get_success_url_for(self, obj: Any) -> str:
        return f"{obj.get_absolute_url()}#notes"


class BulkView(ScopedViewMixin):
    """Bulk update of the selected customers, or of every customer the filters match."""

    model = Customer
    action = "change"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            "customers/partials/bulk_form.html",
            {"form": BulkUpdateForm(user=request.user)},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BulkUpdateForm(request.POST, user=request.user)
        queryset = self.get_queryset()
        ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
        if request.POST.get("scope") == "filtered":
            filters = {
                key: value for key, value in request.POST.items() if key.startswith("f_") and value
            }
            queryset = CustomerFilterSet(
                {key[2:]: value for key, value in filters.items()},
                queryset=queryset,
                user=request.user,
            ).qs
        else:
            queryset = queryset.filter(pk__in=ids)
        if not form.is_valid() or not form.changes():
            messages.error(request, _("Choose at least one value to set."))
        else:
            try:
                count = services.bulk_update_customers(
                    actor=request.user, customers=queryset, changes=form.changes()
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("%(n)s customers updated.") % {"n": count})
        return redirect(reverse("customers:customer_list") + "?" + request.POST.get("back", ""))


class MacBindView(ScopedViewMixin):
    model = Customer
    action = "change"
    template_name = "web/object_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {"form": MacBindForm(user=request.user), "title": _("Bulk MAC bind")},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MacBindForm(request.POST, user=request.user)
        if form.is_valid():
            pairs = []
            for line in form.cleaned_data["lines"].splitlines():
                parts = [part.strip() for part in line.replace("\t", ",").split(",")]
                if len(parts) == 2 and all(parts):
                    pairs.append((parts[0], parts[1]))
                elif line.strip():
                    form.add_error("lines", _("Not “username, MAC”: %(line)s") % {"line": line})
            if form.is_valid():
                try:
                    count = services.bind_macs(
                        actor=request.user,
                        tenant_id=access_of(request.user).tenant_id or 0,
                        pairs=pairs,
                    )
                except DomainError as exc:
                    for key, errors in exc.fields.items():
                        form.add_error("lines", f"{key}: {' '.join(errors)}")
                else:
                    messages.success(request, _("%(n)s MAC addresses bound.") % {"n": count})
                    return redirect("customers:customer_list")
        return render(
            request, self.template_name, {"form": form, "title": _("Bulk MAC bind")}, status=400
        )


class CustomerExportView(ScopedViewMixin):
    """Export the filtered list with the chosen columns and format, as a job."""

    model = Customer
    action = "export"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ExportForm(request.POST, user=request.user, spec=CUSTOMER_EXPORT)
        if not form.is_valid():
            messages.error(request, _("Choose a format and at least one column."))
            return redirect("customers:customer_list")
        filters = {
            key[2:]: str(value)
            for key, value in request.POST.dict().items()
            if key.startswith("f_") and value
        }
        try:
            run = start_export(
                actor=request.user,
                spec=CUSTOMER_EXPORT,
                filters=filters,
                columns=form.cleaned_data["columns"],
                fmt=form.cleaned_data["format"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("customers:customer_list")
        return redirect("web:job_detail", pk=run.pk)


class ReplaceView(ScopedViewMixin):
    """Replace a package or billing profile on every customer the user may change (a job)."""

    model = Customer
    action = "change"
    template_name = "web/object_form.html"

    def current(self) -> Any:
        model = services.REPLACEABLE.get(self.kwargs["field"])
        if model is None:
            raise Http404
        return get_object_or_404(model.objects.restrict(self.request.user), pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        current = self.current()
        form = ReplaceForm(user=request.user, current=current)
        return render(
            request,
            self.template_name,
            {"form": form, "title": _("Replace %(item)s on all its customers") % {"item": current}},
        )

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        current = self.current()
        form = ReplaceForm(request.POST, user=request.user, current=current)
        if form.is_valid():
            try:
                run = services.start_replacement(
                    actor=request.user,
                    field=self.kwargs["field"],
                    old=current,
                    new=form.cleaned_data["replacement"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("web:job_detail", pk=run.pk)
        return render(
            request,
            self.template_name,
            {"form": form, "title": _("Replace %(item)s on all its customers") % {"item": current}},
            status=400,
        )


# ---- zones and custom fields ----------------------------------------------------------------


class ZoneListView(ObjectListView):
    model = Zone
    table_class = ZoneTable
    filterset_class = ZoneFilterSet
    title = gettext_lazy("Zones")
    add_url_name = "customers:zone_add"

    def base_queryset(self) -> QuerySet[Zone]:
        return Zone.objects.select_related("parent", "operator")


class ZoneDetailView(ObjectDetailView):
    model = Zone
    template_name = "customers/zone_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["children"] = Zone.objects.restrict(user).filter(parent=self.object)
        context["customer_count"] = (
            Customer.objects.restrict(user)
            .filter(zone=self.object)
            .exclude(status=Customer.Status.DELETED)
            .count()
        )
        context["may_change"] = (
            Zone.objects.restrict(user, "change").filter(pk=self.object.pk).exists()
        )
        return context


class ZoneCreateView(ServiceFormView):
    model = Zone
    form_class = ZoneForm
    title = gettext_lazy("New zone")
    success_message = gettext_lazy("Zone %(object)s created.")

    def perform(self, form: Any) -> Zone:
        data = form.cleaned_data
        return services.save_zone(
            actor=self.request.user,
            operator=data["operator"],
            name=data["name"],
            kind=data["kind"],
            parent=data["parent"],
        )


class ZoneEditView(ServiceFormView):
    model = Zone
    form_class = ZoneForm
    action = "change"
    title = gettext_lazy("Edit zone")
    success_message = gettext_lazy("Zone %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {"name": self.object.name, "kind": self.object.kind, "parent": self.object.parent}

    def perform(self, form: Any) -> Zone:
        data = form.cleaned_data
        return services.save_zone(
            actor=self.request.user,
            operator=self.object.operator,
            name=data["name"],
            kind=data["kind"],
            parent=data["parent"],
            zone=self.object,
        )


class CustomFieldListView(ObjectListView):
    model = CustomField
    table_class = CustomFieldTable
    filterset_class = None
    title = gettext_lazy("Custom fields")
    add_url_name = "customers:customfield_add"


class CustomFieldCreateView(ServiceFormView):
    model = CustomField
    form_class = CustomFieldForm
    title = gettext_lazy("New custom field")
    success_message = gettext_lazy("Custom field %(object)s saved.")

    def perform(self, form: Any) -> CustomField:
        from ispbills.tenancy.models import Operator

        access = access_of(self.request.user)
        root = get_object_or_404(Operator, tenant_id=access.tenant_id, parent=None)
        return services.save_custom_field(
            actor=self.request.user, operator=root, **form.cleaned_data
        )


class CustomFieldEditView(CustomFieldCreateView):
    action = "change"
    title = gettext_lazy("Edit custom field")

    def get_initial(self) -> dict[str, Any]:
        field = self.object
        return {
            "key": field.key,
            "label": field.label,
            "kind": field.kind,
            "choices": "\n".join(field.choices),
            "required": field.required,
            "position": field.position,
        }

    def perform(self, form: Any) -> CustomField:
        return services.save_custom_field(
            actor=self.request.user,
            operator=self.object.operator,
            field=self.object,
            **form.cleaned_data,
        )
