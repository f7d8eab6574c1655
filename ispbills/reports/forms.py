"""The parameters form of a report: only the fields the report takes, every choice narrowed
to what the user may see."""

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import Account
from ispbills.core.forms import ScopedForm
from ispbills.reports.registry import Report
from ispbills.tenancy.models import Operator

DATE = forms.DateInput(attrs={"type": "date"})


class ReportForm(ScopedForm):
    """Period (from/to, the ISP's calendar), operator, account and year, as the report needs."""

    start = forms.DateField(label=_("From"), widget=DATE)
    end = forms.DateField(label=_("To"), widget=DATE)
    operator = forms.ModelChoiceField(
        queryset=Operator.objects.all(),
        required=False,
        label=_("Operator"),
        empty_label=_("All I may see"),
        help_text=_("That operator and those below it."),
    )
    account = forms.ModelChoiceField(
        queryset=Account.objects.select_related("operator", "user"), label=_("Account")
    )
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)

    FIELDS = {
        "period": ("start", "end"),
        "operator": ("operator",),
        "account": ("account",),
        "year": ("year",),
    }

    def __init__(
        self, data: Any, *, user: Any, report: type[Report], today: dt.date, asked: bool = True
    ) -> None:
        """``asked=False``: nothing asked yet, the form shows its defaults without errors."""
        start, end = report.default_period(today)
        defaults = {"start": start, "end": end, "year": today.year}
        wanted = {name for param in report.parameters for name in self.FIELDS[param]}
        # Parameters left out take their defaults; given ones are checked as they are.
        values = {name: value for name, value in defaults.items() if name in wanted}
        values.update({name: data[name] for name in wanted if name in data})
        if asked:
            super().__init__(values, user=user)
        else:
            super().__init__(initial=values, user=user)
        self.report = report
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        if "account" in self.fields:
            self.fields["account"].label_from_instance = (  # type: ignore[attr-defined]
                lambda account: f"{account.operator} · {account}"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days + 1 > self.report.max_days:
                raise forms.ValidationError(
                    _("Choose a period of at most %(days)s days.") % {"days": self.report.max_days}
                )
        return data
