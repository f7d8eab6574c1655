"""The reports. Each computes its rows with a few grouped queries over rows the user may see
(``restrict()``), narrowed to the chosen operator's subtree; amounts are Decimal.

Sources and sign rules: docs/reports.md and docs/accounting.md.
"""

import datetime as dt
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ispbills.accounting.models import Account, JournalLine, TransferRequest
from ispbills.billing.models import Bill
from ispbills.core import clock
from ispbills.core.access import Access
from ispbills.core.money import ZERO
from ispbills.payments.models import Payment
from ispbills.reports.models import BillsPaymentsDay
from ispbills.reports.registry import (
    COUNT,
    DATE,
    MONEY,
    MONTH,
    Column,
    Report,
    register,
)
from ispbills.reports.services import WINDOW_DAYS
from ispbills.tenancy.models import Operator, Tenant

MONEY_KINDS = (Account.Kind.CASH, Account.Kind.BANK, Account.Kind.GATEWAY_CLEARING)
NOTHING = Value(ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))


def zone_of(access: Access) -> zoneinfo.ZoneInfo:
    """The ISP's time zone (the server's for a super admin who picked no ISP)."""
    name = Tenant.objects.filter(pk=access.tenant_id or 0).values_list("timezone", flat=True)
    return zoneinfo.ZoneInfo(name.first() or settings.TIME_ZONE)


def _within(queryset: QuerySet[Any], params: dict[str, Any], field: str = "operator") -> Any:
    """Rows of the chosen operator's subtree (all the user may see without one); ``field``
    names the rows' operator ("" for operators themselves)."""
    chosen = params.get("operator")
    if chosen is None:
        return queryset
    lookup = f"{field}__path__startswith" if field else "path__startswith"
    return queryset.filter(**{lookup: chosen.path})


def _operators(ids: Any) -> dict[int, Operator]:
    """The operators of rows already scoped (so no further check), with their parents."""
    found = Operator.objects.filter(pk__in=list(ids)).select_related("parent")
    return {operator.pk: operator for operator in found}


def today_of(access: Access) -> dt.date:
    """Today in the ISP's calendar."""
    return clock.now().astimezone(zone_of(access)).date()


def _sum(expression: Any, **kwargs: Any) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), NOTHING)


def _local_range(access: Access, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants from ``start``'s midnight to the midnight after ``end``, in the ISP's zone."""
    zone = zone_of(access)
    first = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return first, after


def cash_moves(
    access: Access, params: dict[str, Any], start: dt.date, end: dt.date, bucket: str
) -> list[tuple[dt.date, int, Decimal, Decimal]]:
    """(day or month, operator id, cash in, cash out) of the money accounts (cash, bank,
    gateway clearing), from the entries of days ``start`` to ``end``.

    Each entry's lines on one operator's money accounts are netted first: money moved
    between them (a collector handing cash over, a deposit, a settlement) is neither in nor
    out, and only a settlement's fee leaves."""
    accounts = _within(
        Account.objects.restrict(access, "view").filter(kind__in=MONEY_KINDS), params
    )
    per_entry = (
        JournalLine.objects.filter(account__in=accounts, entry__day__gte=start, entry__day__lte=end)
        .values("entry_id", "entry__day", "account__operator_id")
        .annotate(net=Sum(F("debit") - F("credit")))
        .order_by()
    )
    inner, values = per_entry.query.sql_with_params()
    period = "day" if bucket == "day" else "date_trunc('month', day)::date"
    # The inner query is the ORM's (its values passed apart); only the bucket is spliced in.
    sql = f"""
        SELECT {period} AS period, operator_id,
               COALESCE(SUM(net) FILTER (WHERE net > 0), 0)::numeric(14, 2),
               COALESCE(-SUM(net) FILTER (WHERE net < 0), 0)::numeric(14, 2)
        FROM ({inner}) AS moves (entry_id, day, operator_id, net)
        WHERE net <> 0
        GROUP BY 1, 2
        ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [(row[0], row[1], row[2], row[3]) for row in cursor.fetchall()]


# ---- operators' balances --------------------------------------------------------------------


class OperatorBalances(Report):
    """Operators' balances with their parents, and their customers' ledger balances."""

    permissions = (*Report.permissions, "operators.view", "accounting.view")
    parameters = ("operator",)
    # Which operators' own balances count, and which ledger account holds their customers'.
    holding: Q
    customer_kind: str
    # The report's row of an operator, given its customers' ledger balance.
    row: Callable[[Operator, Decimal], dict[str, Any]]

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        customers = dict(
            _within(Account.objects.restrict(access, "view"), params)
            .filter(kind=self.customer_kind)
            .values("operator_id")
            .annotate(total=Sum("balance"))
            .exclude(total=0)
            .values_list("operator_id", "total")
            .order_by()
        )
        holding = _within(Operator.objects.restrict(access, "view"), params, "")
        ids = set(customers) | set(holding.filter(self.holding).values_list("pk", flat=True))
        operators = sorted(_operators(ids).values(), key=Operator.ancestor_ids)
        return [self.row(operator, customers.get(operator.pk, ZERO)) for operator in operators]


@register
class Receivable(OperatorBalances):
    name = "receivable"
    title = _("Accounts receivable")
    description = _(
        "What postpaid (credit) operators owe their parents, and what each operator's "
        "customers owe on their bills."
    )
    columns = (
        Column("operator", _("Operator")),
        Column("parent", _("Parent")),
        Column("credit_limit", _("Credit limit"), MONEY),
        Column("owed", _("Owed to parent"), MONEY, total=True),
        Column("headroom", _("Credit left"), MONEY),
        Column("customers_owe", _("Customers owe"), MONEY, total=True),
    )
    holding = Q(account_type=Operator.AccountType.CREDIT, balance__lt=0)
    customer_kind = Account.Kind.RECEIVABLE

    def row(self, operator: Operator, customers: Decimal) -> dict[str, Any]:
        credit = operator.account_type == Operator.AccountType.CREDIT
        return {
            "operator": operator.name,
            "parent": operator.parent.name if operator.parent else "",
            "credit_limit": operator.credit_limit if credit else None,
            "owed": max(-operator.balance, ZERO) if credit else ZERO,
            "headroom": operator.credit_limit + operator.balance if credit else None,
            "customers_owe": customers,
        }


@register
class Payable(OperatorBalances):
    name = "payable"
    title = _("Accounts payable")
    description = _(
        "Funds prepaid (debit) operators hold with their parents, and the advances each "
        "operator's customers paid and were not billed yet."
    )
    columns = (
        Column("operator", _("Operator")),
        Column("parent", _("Parent")),
        Column("held", _("Prepaid balance"), MONEY, total=True),
        Column("customer_advances", _("Customer advances"), MONEY, total=True),
    )
    holding = Q(account_type=Operator.AccountType.DEBIT, balance__gt=0)
    customer_kind = Account.Kind.ADVANCES

    def row(self, operator: Operator, customers: Decimal) -> dict[str, Any]:
        debit = operator.account_type == Operator.AccountType.DEBIT
        return {
            "operator": operator.name,
            "parent": operator.parent.name if operator.parent else "",
            "held": max(operator.balance, ZERO) if debit else ZERO,
            "customer_advances": customers,
        }


# ---- cash in and out ------------------------------------------------------------------------


class Cash(Report):
    """Cash in and out of the money accounts per period and operator."""

    permissions = (*Report.permissions, "accounting.view")
    parameters = ("period", "operator")
    bucket: str

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        moves = cash_moves(access, params, params["start"], params["end"], self.bucket)
        operators = _operators({operator_id for _p, operator_id, _i, _o in moves})
        return [
            {
                self.bucket: period,
                "operator": operators[operator_id].name,
                "cash_in": cash_in,
                "cash_out": cash_out,
                "net": cash_in - cash_out,
            }
            for period, operator_id, cash_in, cash_out in moves
        ]


CASH_COLUMNS = (
    Column("operator", _("Operator")),
    Column("cash_in", _("Cash in"), MONEY, total=True),
    Column("cash_out", _("Cash out"), MONEY, total=True),
    Column("net", _("Net"), MONEY, total=True),
)


@register
class CashDaily(Cash):
    name = "cash-daily"
    title = _("Daily cash in and out")
    description = _(
        "Money into and out of cash, bank and gateway clearing accounts, per day and "
        "operator; moves between those accounts are neither."
    )
    columns = (Column("day", _("Day"), DATE), *CASH_COLUMNS)
    bucket = "day"
    max_days = 366


@register
class CashMonthly(Cash):
    name = "cash-monthly"
    title = _("Monthly cash in and out")
    description = _(
        "Money into and out of cash, bank and gateway clearing accounts, per month and operator."
    )
    columns = (Column("month", _("Month"), MONTH), *CASH_COLUMNS)
    bucket = "month"

    @classmethod
    def default_period(cls, today: dt.date) -> tuple[dt.date, dt.date]:
        """This year so far."""
        return today.replace(month=1, day=1), today


# ---- account statement ----------------------------------------------------------------------


@register
class Statement(Report):
    name = "statement"
    title = _("Account statement")
    description = _(
        "One account's lines in a period with the opening balance, the running balance "
        "after each line and the closing balance."
    )
    permissions = (*Report.permissions, "accounting.view")
    parameters = ("account", "period")
    columns = (
        Column("day", _("Day"), DATE),
        Column("entry", _("Entry")),
        Column("memo", _("Memo")),
        Column("debit", _("Debit"), MONEY, total=True),
        Column("credit", _("Credit"), MONEY, total=True),
        Column("balance", _("Balance"), MONEY),
    )

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        account: Account = params["account"]
        lines = list(
            account.lines.filter(entry__day__gte=params["start"], entry__day__lte=params["end"])
            .select_related("entry")
            .order_by("id")
        )
        if lines:
            first = lines[0]
            opening = first.balance_after - account.signed(first.debit, first.credit)
        else:
            before = account.lines.filter(entry__day__lt=params["start"]).order_by("-id").first()
            opening = before.balance_after if before else ZERO
        rows: list[dict[str, Any]] = [
            {
                "day": params["start"],
                "entry": "",
                "memo": gettext("Opening balance"),
                "debit": None,
                "credit": None,
                "balance": opening,
            }
        ]
        rows += [
            {
                "day": line.entry.day,
                "entry": line.entry.display_number,
                "memo": line.entry.memo,
                "debit": line.debit or None,
                "credit": line.credit or None,
                "balance": line.balance_after,
            }
            for line in lines
        ]
        return rows

    @classmethod
    def run(cls, access: Access, params: dict[str, Any]) -> Any:
        result = super().run(access, params)
        result.totals["balance"] = result.rows[-1]["balance"]  # the closing balance
        return result


# ---- income ---------------------------------------------------------------------------------


def ledger_sums(access: Access, params: dict[str, Any], start: dt.date, end: dt.date) -> Any:
    """Revenue, VAT and expenses of the entries of days ``start`` to ``end`` (grouping left to
    the caller): revenue and VAT on their credit side, expenses on their debit side."""
    accounts = _within(Account.objects.restrict(access, "view"), params)
    lines = JournalLine.objects.filter(
        account__in=accounts.filter(
            kind__in=(Account.Kind.REVENUE, Account.Kind.VAT_PAYABLE, Account.Kind.EXPENSES)
        ),
        entry__day__gte=start,
        entry__day__lte=end,
    )
    return lines, {
        "revenue": _sum(F("credit") - F("debit"), filter=Q(account__kind=Account.Kind.REVENUE)),
        "vat": _sum(F("credit") - F("debit"), filter=Q(account__kind=Account.Kind.VAT_PAYABLE)),
        "expenses": _sum(F("debit") - F("credit"), filter=Q(account__kind=Account.Kind.EXPENSES)),
    }


def _payments(access: Access, params: dict[str, Any], start: dt.date, end: dt.date) -> Any:
    """Payments (and, negative, their reversals) received from ``start`` to ``end``."""
    first, after = _local_range(access, start, end)
    payments = Payment.objects.restrict(access, "view").filter(
        received_at__gte=first, received_at__lt=after
    )
    return _within(payments, params)


@register
class Income(Report):
    name = "income"
    title = _("Income summary")
    description = _(
        "Per operator over a period: revenue billed (net of VAT), the VAT, payments received "
        "by method, expenses, and revenue less expenses."
    )
    permissions = (*Report.permissions, "accounting.view", "payments.view")
    parameters = ("period", "operator")
    columns = (
        Column("operator", _("Operator")),
        Column("revenue", _("Revenue"), MONEY, total=True),
        Column("vat", _("VAT"), MONEY, total=True),
        *(
            Column(f"paid_{method.value}", method.label, MONEY, total=True)
            for method in Payment.Method
        ),
        Column("paid", _("Payments received"), MONEY, total=True),
        Column("expenses", _("Expenses"), MONEY, total=True),
        Column("net", _("Revenue less expenses"), MONEY, total=True),
    )

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = params["start"], params["end"]
        lines, sums = ledger_sums(access, params, start, end)
        ledger = {
            row.pop("account__operator_id"): row
            for row in lines.values("account__operator_id").annotate(**sums).order_by()
        }
        by_method = {
            f"paid_{method.value}": _sum("amount", filter=Q(method=method.value))
            for method in Payment.Method
        }
        paid = {
            row.pop("operator_id"): row
            for row in _payments(access, params, start, end)
            .values("operator_id")
            .annotate(**by_method, paid=_sum("amount"))
            .order_by()
        }
        operators = _operators(set(ledger) | set(paid))
        empty_ledger = dict.fromkeys(sums, ZERO)
        empty_paid = dict.fromkeys([*by_method, "paid"], ZERO)
        rows = []
        for operator in sorted(operators.values(), key=Operator.ancestor_ids):
            figures = {
                **ledger.get(operator.pk, empty_ledger),
                **paid.get(operator.pk, empty_paid),
            }
            figures["net"] = figures["revenue"] - figures["expenses"]
            rows.append({"operator": operator.name, **figures})
        return rows


# ---- yearly ---------------------------------------------------------------------------------


@register
class Yearly(Report):
    name = "yearly"
    title = _("Yearly summary")
    description = _(
        "Per month of a year: bills issued, payments received, cash in and out, revenue "
        "and expenses."
    )
    permissions = (*Report.permissions, "accounting.view", "billing.view", "payments.view")
    parameters = ("year", "operator")
    columns = (
        Column("month", _("Month"), MONTH),
        Column("bills", _("Bills"), COUNT, total=True),
        Column("billed", _("Billed"), MONEY, total=True),
        Column("payments", _("Payments"), COUNT, total=True),
        Column("paid", _("Received"), MONEY, total=True),
        Column("cash_in", _("Cash in"), MONEY, total=True),
        Column("cash_out", _("Cash out"), MONEY, total=True),
        Column("revenue", _("Revenue"), MONEY, total=True),
        Column("expenses", _("Expenses"), MONEY, total=True),
    )

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        year = params["year"]
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        months: dict[dt.date, dict[str, Any]] = {
            dt.date(year, number, 1): {
                "month": dt.date(year, number, 1),
                **{column.name: ZERO for column in self.columns if column.type == MONEY},
                "bills": 0,
                "payments": 0,
            }
            for number in range(1, 13)
        }
        bills = _within(Bill.objects.restrict(access, "view"), params).filter(
            issued_on__gte=start, issued_on__lte=end
        )
        for row in (
            bills.annotate(period=TruncMonth("issued_on"))
            .values("period")
            .annotate(
                count=Count("id", filter=Q(kind=Bill.Kind.INVOICE))
                - Count("id", filter=Q(kind=Bill.Kind.REVERSAL)),
                total=_sum("total"),
            )
            .order_by()
        ):
            months[row["period"]].update(bills=row["count"], billed=row["total"])
        zone = zone_of(access)
        for row in (
            _payments(access, params, start, end)
            .annotate(period=TruncMonth("received_at", tzinfo=zone))
            .values("period")
            .annotate(
                count=Count("id", filter=Q(kind=Payment.Kind.PAYMENT))
                - Count("id", filter=Q(kind=Payment.Kind.REVERSAL)),
                total=_sum("amount"),
            )
            .order_by()
        ):
            months[row["period"].date()].update(payments=row["count"], paid=row["total"])
        for period, _operator, cash_in, cash_out in cash_moves(access, params, start, end, "month"):
            months[period]["cash_in"] += cash_in
            months[period]["cash_out"] += cash_out
        lines, sums = ledger_sums(access, params, start, end)
        for row in (
            lines.annotate(period=TruncMonth("entry__day"))
            .values("period")
            .annotate(revenue=sums["revenue"], expenses=sums["expenses"])
            .order_by()
        ):
            months[row["period"]].update(revenue=row["revenue"], expenses=row["expenses"])
        return list(months.values())


# ---- pending transactions ---------------------------------------------------------------


@register
class Pending(Report):
    name = "pending"
    title = _("Pending transactions")
    description = _(
        "Cash handovers and funds reported by resellers that wait for approval, oldest first."
    )
    permissions = (*Report.permissions, "accounting.view")
    parameters = ("operator",)
    columns = (
        Column("request", _("Request")),
        Column("requested", _("Requested"), DATE),
        Column("kind", _("Kind")),
        Column("operator", _("Operator")),
        Column("reference", _("Reference")),
        Column("requested_by", _("Requested by")),
        Column("amount", _("Amount"), MONEY, total=True),
    )

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        zone = zone_of(access)
        pending = (
            _within(TransferRequest.objects.restrict(access, "view"), params)
            .filter(status=TransferRequest.Status.PENDING)
            .select_related("operator", "requested_by")
            .order_by("id")
        )
        return [
            {
                "request": str(request),
                "requested": request.created_at.astimezone(zone).date(),
                "kind": str(request.get_kind_display()),
                "operator": request.operator.name,
                "reference": request.reference,
                "requested_by": str(request.requested_by or "—"),
                "amount": request.amount,
            }
            for request in pending
        ]


# ---- bills vs payments ----------------------------------------------------------------------


@register
class BillsVsPayments(Report):
    name = "bills-vs-payments"
    title = _("Bills vs payments")
    description = _(
        "Bills issued and payments received per day over the last 30 days, updated hourly."
    )
    permissions = (*Report.permissions, "billing.view", "payments.view")
    parameters = ("operator",)
    columns = (
        Column("day", _("Day"), DATE),
        Column("bills", _("Bills"), COUNT, total=True),
        Column("billed", _("Billed"), MONEY, total=True),
        Column("payments", _("Payments"), COUNT, total=True),
        Column("paid", _("Received"), MONEY, total=True),
    )
    chart = True

    def snapshot(self, access: Access, params: dict[str, Any]) -> QuerySet[BillsPaymentsDay]:
        return _within(BillsPaymentsDay.objects.restrict(access, "view"), params)

    def rows(self, access: Access, params: dict[str, Any]) -> list[dict[str, Any]]:
        today = today_of(access)
        first = today - dt.timedelta(days=WINDOW_DAYS - 1)
        days = {
            first + dt.timedelta(days=offset): {
                "day": first + dt.timedelta(days=offset),
                "bills": 0,
                "billed": ZERO,
                "payments": 0,
                "paid": ZERO,
            }
            for offset in range(WINDOW_DAYS)
        }
        for row in (
            self.snapshot(access, params)
            .filter(day__gte=first, day__lte=today)
            .values("day")
            .annotate(
                bills_sum=Sum("bills"),
                billed_sum=Sum("billed"),
                payments_sum=Sum("payments"),
                paid_sum=Sum("paid"),
            )
            .order_by()
        ):
            days[row["day"]].update(
                bills=row["bills_sum"],
                billed=row["billed_sum"],
                payments=row["payments_sum"],
                paid=row["paid_sum"],
            )
        return list(days.values())

    def notes(self, access: Access, params: dict[str, Any]) -> list[str]:
        latest = self.snapshot(access, params).order_by("-updated_at").first()
        if latest is None:
            return [gettext("Not computed yet: the figures are refreshed every hour.")]
        return [
            gettext("Refreshed every hour; last at %(time)s.")
            % {"time": latest.updated_at.astimezone(zone_of(access)).strftime("%Y-%m-%d %H:%M")}
        ]
