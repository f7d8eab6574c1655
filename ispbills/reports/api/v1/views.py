"""v1 endpoints of the reports: the reports the caller may run, and any one's figures."""

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ispbills.core.access import access_of
from ispbills.reports.exports import as_json
from ispbills.reports.forms import ReportForm
from ispbills.reports.library import today_of
from ispbills.reports.registry import reports_for
from ispbills.reports.views import report_or_404

REPORT_LIST = inline_serializer(
    "ReportListItem",
    fields={
        "name": serializers.CharField(),
        "title": serializers.CharField(),
        "description": serializers.CharField(),
        "parameters": serializers.ListField(child=serializers.CharField()),
        "url": serializers.CharField(),
    },
    many=True,
)

REPORT = inline_serializer(
    "ReportResult",
    fields={
        "name": serializers.CharField(),
        "title": serializers.CharField(),
        "parameters": serializers.DictField(help_text="The parameters the report ran with"),
        "columns": serializers.ListField(
            child=serializers.DictField(), help_text="name, label and type of each column"
        ),
        "rows": serializers.ListField(
            child=serializers.DictField(),
            help_text="One object per row, keyed by column name; amounts as 2-decimal strings",
        ),
        "totals": serializers.DictField(),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)


class ReportAPIView(APIView):
    permission_classes = [IsAuthenticated]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return login_not_required(super().as_view(**initkwargs))


class ReportListAPIView(ReportAPIView):
    """The reports the caller may run, with the parameters each takes."""

    @extend_schema(responses=REPORT_LIST)
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "name": report.name,
                    "title": str(report.title),
                    "description": str(report.description),
                    "parameters": list(report.parameters),
                    "url": reverse("api-v1:report-detail", args=[report.name]),
                }
                for report in reports_for(access_of(request.user))
            ]
        )


class ReportDetailAPIView(ReportAPIView):
    """One report's rows and totals for the parameters given (the defaults otherwise)."""

    @extend_schema(
        responses=REPORT,
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="Period from (ISP calendar)"),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Period to, inclusive"),
            OpenApiParameter("operator", OpenApiTypes.INT, description="Operator id: its subtree"),
            OpenApiParameter("account", OpenApiTypes.INT, description="Account id (statement)"),
            OpenApiParameter("year", OpenApiTypes.INT, description="Year (yearly summary)"),
        ],
    )
    def get(self, request: Request, name: str) -> Response:
        report = report_or_404(name, request)
        access = access_of(request.user)
        form = ReportForm(
            request.query_params, user=request.user, report=report, today=today_of(access)
        )
        if not form.is_valid():
            raise ValidationError(
                {
                    ("non_field_errors" if field == "__all__" else field): [
                        str(error) for error in errors
                    ]
                    for field, errors in form.errors.items()
                }
            )
        return Response(as_json(report.run(access, form.cleaned_data)))
