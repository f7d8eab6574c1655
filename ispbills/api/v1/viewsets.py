"""v1 endpoints of the foundation: me, operators, users, audit events, jobs."""

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ispbills.api.v1 import serializers
from ispbills.core.api import ScopedReadOnlyViewSet
from ispbills.core.filtersets import AuditEventFilterSet, JobRunFilterSet
from ispbills.core.models import AuditEvent, JobRun
from ispbills.tenancy import services
from ispbills.tenancy.filtersets import OperatorFilterSet, UserFilterSet
from ispbills.tenancy.models import Operator, User


@extend_schema(responses=serializers.MeSerializer)
class MeView(APIView):
    """The authenticated user, their tenant and effective permissions."""

    permission_classes = [IsAuthenticated]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return login_not_required(super().as_view(**initkwargs))

    def get(self, request: Request) -> Response:
        return Response(serializers.MeSerializer(request.user, context={"request": request}).data)


class OperatorViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Operators of the caller's subtree; create adds a reseller or sub-operator."""

    queryset = Operator.objects.select_related("parent")
    filterset_class = OperatorFilterSet

    def get_serializer_class(self) -> Any:
        if self.action in {"update", "partial_update"}:
            return serializers.OperatorUpdateSerializer
        return serializers.OperatorSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            operator = services.create_operator(actor=request.user, **serializer.validated_data)
            self.check_still_visible(operator)
        return Response(self.get_serializer(operator).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        operator = self.get_object()
        serializer = self.get_serializer(
            operator, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            operator = services.update_operator(
                actor=request.user, operator=operator, **serializer.validated_data
            )
        return Response(self.get_serializer(operator).data)


class UserViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Staff users of the caller's subtree; create adds a staff login with a role."""

    queryset = User.objects.select_related("membership__operator")
    filterset_class = UserFilterSet

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return serializers.StaffUserCreateSerializer
        return serializers.UserSerializer

    @extend_schema(
        request=serializers.StaffUserCreateSerializer, responses={201: serializers.UserSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            user = services.create_staff_user(actor=request.user, **serializer.validated_data)
            self.check_still_visible(user)
        data = serializers.UserSerializer(user, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class AuditEventViewSet(ScopedReadOnlyViewSet):
    """The audit log, read-only."""

    queryset = AuditEvent.objects.all()
    serializer_class = serializers.AuditEventSerializer
    filterset_class = AuditEventFilterSet


class JobViewSet(ScopedReadOnlyViewSet):
    """Background job runs with their progress, read-only."""

    queryset = JobRun.objects.all()
    serializer_class = serializers.JobRunSerializer
    filterset_class = JobRunFilterSet
