"""Expense pages: categories, the expense list with its totals, an expense with its entry and
files, recording, correcting and voiding one, and downloading an attachment."""

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import JournalEntry, with_lines
from ispbills.core.access import access_of
from ispbills.core.money import ZERO
from ispbills.core.views import ObjectActionView, ObjectDetailView, ObjectListView, ServiceFormView
from ispbills.expenses import services
from ispbills.expenses.exports import EXPENSE_EXPORT
from ispbills.expenses.filtersets import ExpenseCategoryFilterSet, ExpenseFilterSet
from ispbills.expenses.forms import ExpenseCategoryForm, ExpenseEditForm, ExpenseForm, VoidForm
from ispbills.expenses.models import Expense, ExpenseAttachment, ExpenseCategory
from ispbills.expenses.tables import ExpenseCategoryTable, ExpenseTable

# ---- categories -----------------------------------------------------------------------------


class ExpenseCategoryListView(ObjectListView):
    model = ExpenseCategory
    table_class = ExpenseCategoryTable
    filterset_class = ExpenseCategoryFilterSet
    title = _("Expense categories")
    add_url_name = "expenses:expensecategory_add"

    def base_queryset(self) -> QuerySet[ExpenseCategory]:
        return ExpenseCategory.objects.select_related("parent", "operator")


class ExpenseCategoryDetailView(ObjectDetailView):
    model = ExpenseCategory
    template_name = "expenses/expensecategory_detail.html"

    def get_queryset(self) -> QuerySet[ExpenseCategory]:
        return super().get_queryset().select_related("parent", "operator")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user, category = self.request.user, self.object
        context["children"] = ExpenseCategory.objects.restrict(user).filter(parent=category)
        context["may_change"] = (
            ExpenseCategory.objects.restrict(user, "change").filter(pk=category.pk).exists()
        )
        return context


class ExpenseCategoryCreateView(ServiceFormView):
    model = ExpenseCategory
    form_class = ExpenseCategoryForm
    title = _("New expense category")
    success_message = _("Category %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {
            "operator": access_of(self.request.user).operator_id,
            "parent": self.request.GET.get("parent"),
        }

    def perform(self, form: Any) -> ExpenseCategory:
        data = dict(form.cleaned_data)
        return services.save_category(
            actor=self.request.user, operator=data.pop("operator"), **data
        )


class ExpenseCategoryEditView(ServiceFormView):
    model = ExpenseCategory
    form_class = ExpenseCategoryForm
    action = "change"
    title = _("Edit expense category")
    success_message = _("Category %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {key: getattr(self.object, key) for key in services.CATEGORY_FIELDS}

    def perform(self, form: Any) -> ExpenseCategory:
        values = {
            key: value
            for key, value in form.cleaned_data.items()
            if getattr(self.object, key) != value
        }
        return services.save_category(
            actor=self.request.user,
            operator=self.object.operator,
            category=self.object,
            **values,
        )


class ExpenseCategoryToggleView(ObjectActionView):
    """Retire a category (no new expenses take it) or bring it back."""

    model = ExpenseCategory
    title = _("Deactivate or activate category")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        category = context["object"]
        if category.is_active:
            context["question"] = _(
                "Deactivate %(object)s? Expenses recorded with it keep it; new ones cannot take it."
            ) % {"object": category}
            context["button"], context["button_class"] = _("Deactivate"), "btn-warning"
        else:
            context["question"] = _("Activate %(object)s again?") % {"object": category}
            context["button"] = _("Activate")
        return context

    def perform(self, obj: ExpenseCategory) -> None:
        services.save_category(
            actor=self.request.user,
            operator=obj.operator,
            category=obj,
            is_active=not obj.is_active,
        )


# ---- expenses -------------------------------------------------------------------------------


class ExpenseListView(ObjectListView):
    """Expenses newest first, with the count and (to users who see money) the total of the
    filtered set; voided expenses count apart."""

    model = Expense
    table_class = ExpenseTable
    filterset_class = ExpenseFilterSet
    title = _("Expenses")
    add_url_name = "expenses:expense_add"
    export = EXPENSE_EXPORT
    keyset_pagination = True
    template_name = "expenses/expense_list.html"
    partial_template_name = "expenses/partials/expense_table.html"

    def base_queryset(self) -> QuerySet[Expense]:
        return Expense.objects.select_related(
            "operator", "category__parent", "account__user", "account__operator"
        )

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"show_money": access_of(self.request.user).can("money.view")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        show_money = access_of(self.request.user).can("money.view")
        recorded = Q(status=Expense.Status.RECORDED)
        totals = self.object_list.order_by().aggregate(
            count=Count("pk", filter=recorded),
            void=Count("pk", filter=~recorded),
            total=Sum("amount", filter=recorded, default=ZERO),
        )
        if not show_money:
            totals.pop("total")
        context.update(totals=totals, show_money=show_money)
        return context


class ExpenseDetailView(ObjectDetailView):
    model = Expense
    template_name = "expenses/expense_detail.html"

    def get_queryset(self) -> QuerySet[Expense]:
        return (
            super()
            .get_queryset()
            .select_related(
                "operator", "category__parent", "account__user", "created_by", "voided_by"
            )
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        expense, user = self.object, self.request.user
        access = access_of(user)
        posted = [pk for pk in (expense.entry_id, expense.void_entry_id) if pk]
        may_change = (
            not expense.is_void
            and Expense.objects.restrict(user, "change").filter(pk=expense.pk).exists()
        )
        context.update(
            entries=with_lines(JournalEntry.objects.filter(pk__in=posted).order_by("id")),
            attachments=ExpenseAttachment.objects.restrict(user)
            .filter(expense=expense)
            .defer("data"),
            may_change=may_change,
            show_money=access.can("money.view"),
            sees_ledger=access.can("accounting.view"),
        )
        return context


class ExpenseCreateView(ServiceFormView):
    model = Expense
    form_class = ExpenseForm
    title = _("Record an expense")
    success_message = _("Expense %(object)s recorded.")

    def get_initial(self) -> dict[str, Any]:
        return {
            "operator": access_of(self.request.user).operator_id,
            "spent_on": timezone.localdate(),  # the ISP's zone is active
            "paid_from": services.PaidFrom.CASH,
        }

    def perform(self, form: Any) -> Expense:
        data = dict(form.cleaned_data)
        data.pop("attachments", None)
        return services.record_expense(actor=self.request.user, attachments=form.uploads(), **data)


class ExpenseEditView(ServiceFormView):
    model = Expense
    form_class = ExpenseEditForm
    action = "change"
    title = _("Correct an expense")
    success_message = _("Expense %(object)s saved.")

    def get_initial(self) -> dict[str, Any]:
        return {key: getattr(self.object, key) for key in services.EDITABLE}

    def perform(self, form: Any) -> Expense:
        values = {
            key: value
            for key, value in form.cleaned_data.items()
            if getattr(self.object, key) != value
        }
        return services.update_expense(actor=self.request.user, expense=self.object, **values)


class ExpenseVoidView(ServiceFormView):
    """Void an expense: its entry is reversed, the expense stays listed as void."""

    model = Expense
    form_class = VoidForm
    action = "change"
    title = _("Void an expense")
    success_message = _("Expense %(object)s voided.")

    def perform(self, form: Any) -> Expense:
        return services.void_expense(
            actor=self.request.user, expense=self.object, reason=form.cleaned_data["reason"]
        )


class AttachmentDownloadView(ObjectDetailView):
    """An expense's file, for the users who may see the expense; always a download."""

    model = ExpenseAttachment

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return attachment_response(self.get_object())


def attachment_response(attachment: ExpenseAttachment) -> HttpResponse:
    """The file as a download the browser does not sniff or show inline."""
    response = HttpResponse(bytes(attachment.data), content_type=attachment.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=attachment.name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
