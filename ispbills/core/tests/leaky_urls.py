"""A URLconf with deliberately unscoped views, to prove the isolation kit catches them."""

from typing import Any

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from ispbills.core.views import ObjectDetailView, ObjectListView
from ispbills.tenancy.models import Operator
from ispbills.tenancy.tables import OperatorTable


class LeakyOperatorDetail(ObjectDetailView):
    model = Operator
    template_name = "tenancy/operator_detail.html"

    def get_queryset(self) -> Any:
        return Operator.objects.all()  # the bug: no restrict()


class LeakyOperatorList(ObjectListView):
    model = Operator
    table_class = OperatorTable
    filterset_class = None

    def get_queryset(self) -> Any:
        return Operator.objects.all()  # the bug: no restrict()


def hand_written_view(request: Any) -> Any:
    return None


urlpatterns = [
    *project_urlpatterns,
    path("leaky/operators/", LeakyOperatorList.as_view(), name="leaky_list"),
    path("leaky/operators/<int:pk>/", LeakyOperatorDetail.as_view(), name="leaky_detail"),
    path("leaky/hand-written/", hand_written_view, name="leaky_hand_written"),
]
