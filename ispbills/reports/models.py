"""The bills-vs-payments snapshot: what each operator billed and collected on each day.

An hourly job recomputes the last 30 days of every ISP into this table (set-based, one
statement), so the chart reads a few hundred rows instead of summing bills and payments on
every page view. Rows are owned by their operator, so a user's chart is the sum over the
rows of their subtree.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ispbills.core.models import TenantOwned
from ispbills.core.money import money_field


class BillsPaymentsDay(TenantOwned):
    """One operator's bills issued and payments received on one day of the ISP's calendar."""

    access_area = "reports"

    day = models.DateField(_("day"), help_text=_("The date in the ISP's time zone"))
    bills = models.IntegerField(_("bills"), default=0, help_text=_("Invoices less reversals"))
    billed = money_field(verbose_name=_("billed"))
    payments = models.IntegerField(_("payments"), default=0, help_text=_("Payments less reversals"))
    paid = money_field(verbose_name=_("received"))

    class Meta:
        ordering = ["day", "operator_id"]
        verbose_name = _("bills and payments of a day")
        verbose_name_plural = _("bills and payments by day")
        constraints = [
            models.UniqueConstraint(fields=["operator", "day"], name="bills_payments_day"),
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="bills_payments_tenant_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.billed} / {self.paid}"
