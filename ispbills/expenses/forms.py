"""Panel forms: categories, recording an expense (with its files), correcting and voiding one."""

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ispbills.core.forms import ScopedForm
from ispbills.expenses.models import ExpenseCategory
from ispbills.expenses.services import ATTACHMENT_MAX_BYTES, PaidFrom, Upload
from ispbills.tenancy.models import Operator

ACCEPTED = "application/pdf,image/png,image/jpeg"


def _category_labels(field: Any) -> None:
    field.label_from_instance = lambda category: f"{category.label} ({category.operator})"


class ExpenseCategoryForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Owner"))
    name = forms.CharField(label=_("Name"), max_length=100)
    parent = forms.ModelChoiceField(
        queryset=ExpenseCategory.objects.filter(parent__isnull=True).select_related("operator"),
        label=_("Subcategory of"),
        required=False,
        help_text=_("Leave empty for a top-level category."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            del self.fields["operator"]
        else:
            del self.fields["is_active"]
        _category_labels(self.fields["parent"])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to the list of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class ExpenseForm(ScopedForm):
    operator = forms.ModelChoiceField(queryset=Operator.objects.all(), label=_("Operator"))
    category = forms.ModelChoiceField(
        queryset=ExpenseCategory.objects.filter(is_active=True).select_related(
            "parent", "operator"
        ),
        label=_("Category"),
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2)
    spent_on = forms.DateField(
        label=_("Date spent"), widget=forms.DateInput(attrs={"type": "date"})
    )
    paid_from = forms.ChoiceField(choices=PaidFrom.choices, label=_("Paid from"))
    payee = forms.CharField(label=_("Payee"), max_length=150)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=100,
        required=False,
        help_text=_("Invoice, voucher or bank transaction number"),
    )
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    attachments = MultipleFileField(
        label=_("Receipts and invoices"),
        required=False,
        help_text=_("PDF, PNG or JPEG, at most 5 MB each, up to 5 files."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _category_labels(self.fields["category"])

    def uploads(self) -> list[Upload]:
        """The attached files, read (no further than the service's limit needs to see)."""
        return [
            Upload(name=item.name or "", data=item.read(ATTACHMENT_MAX_BYTES + 1))
            for item in self.cleaned_data.get("attachments") or []
        ]


class ExpenseEditForm(ScopedForm):
    category = forms.ModelChoiceField(
        queryset=ExpenseCategory.objects.filter(is_active=True).select_related(
            "parent", "operator"
        ),
        label=_("Category"),
    )
    payee = forms.CharField(label=_("Payee"), max_length=150)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["category"]
        if self.instance is not None:  # the current category, even retired, may stay
            field.queryset = (
                ExpenseCategory.objects.filter(Q(is_active=True) | Q(pk=self.instance.category_id))
                .select_related("parent", "operator")
                .restrict(self.user, "view")
            )
        _category_labels(field)


class VoidForm(ScopedForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("The reversing entry is posted today; the expense stays listed as void."),
    )
