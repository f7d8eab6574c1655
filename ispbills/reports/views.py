"""Report pages: the reports a user may run, and one page that runs any of them (table,
totals, export buttons, and a chart where the report has one)."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from ispbills.core.access import access_of
from ispbills.reports.exports import FORMATS, as_csv, as_xlsx, plain, shown
from ispbills.reports.forms import ReportForm
from ispbills.reports.library import today_of
from ispbills.reports.registry import DATE, MONEY, Report, Result, get_report, reports_for
from ispbills.tenancy.models import Tenant

# The panel shows this many rows; the exports and the API carry them all.
PANEL_ROWS = 1000


class ReportListView(TemplateView):
    """The reports this user may run (403 with none)."""

    template_name = "reports/report_list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reports = reports_for(access_of(request.user))
        if not reports:
            raise PermissionDenied(_("You do not have permission to open this page."))
        return self.render_to_response(self.get_context_data(reports=reports))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = _("Reports")
        return context


def report_or_404(name: str, request: HttpRequest) -> type[Report]:
    """The named report, if it exists (404) and the user may run it (403)."""
    report = get_report(name)
    if report is None:
        raise Http404(_("No such report."))
    if not report.allows(access_of(request.user)):
        raise PermissionDenied(_("You do not have permission to run this report."))
    return report


class ReportView(TemplateView):
    """Any report: its parameters form, its table with totals; ``?format=csv|xlsx`` exports
    it (with ``reports.export``)."""

    template_name = "reports/report.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        report = report_or_404(kwargs["name"], request)
        access = access_of(request.user)
        form = ReportForm(request.GET, user=request.user, report=report, today=today_of(access))
        result = report.run(access, form.cleaned_data) if form.is_valid() else None
        if result is None and not request.GET:  # a required parameter not chosen yet
            form = ReportForm(
                request.GET, user=request.user, report=report, today=today_of(access), asked=False
            )
        fmt = request.GET.get("format", "")
        if fmt and result is not None:
            if not access.can("reports.export"):
                raise PermissionDenied(_("You may not export reports."))
            if fmt not in FORMATS:
                form.add_error(None, _("Export as CSV or XLSX."))
            else:
                return as_xlsx(result) if fmt == "xlsx" else as_csv(result)
        return self.render_to_response(
            self.get_context_data(report=report, form=form, result=result)
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        report: type[Report] = kwargs["report"]
        result: Result | None = kwargs["result"]
        access = access_of(self.request.user)
        context.update(
            title=report.title,
            may_export=access.can("reports.export") and result is not None,
        )
        query = self.request.GET.copy()
        query.pop("format", None)
        context["export_query"] = query.urlencode()
        if result is None:
            return context
        currency = (
            Tenant.objects.filter(pk=access.tenant_id or 0)
            .values_list("currency", flat=True)
            .first()
            or "BDT"
        )
        columns = result.columns
        context.update(
            columns=columns,
            rows=[
                [(column, shown(row[column.name], column, currency)) for column in columns]
                for row in result.rows[:PANEL_ROWS]
            ],
            cut=len(result.rows) > PANEL_ROWS,
            row_count=len(result.rows),
            totals=[
                (column, shown(result.totals.get(column.name), column, currency))
                for column in columns
            ]
            if result.totals
            else None,
            notes=result.notes,
        )
        if report.chart:
            context["chart"] = chart_data(result)
        return context


def chart_data(result: Result) -> dict[str, Any]:
    """Labels (the date column) and one series per money column, for the page's script."""
    columns = result.columns
    axis = next(column for column in columns if column.type == DATE)
    return {
        "labels": [plain(row[axis.name], axis) for row in result.rows],
        "series": [
            {
                "label": str(column.label),
                "data": [plain(row[column.name], column) for row in result.rows],
            }
            for column in columns
            if column.type == MONEY
        ],
    }
