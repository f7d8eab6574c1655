"""v1 endpoints of the radius app: NAS devices (CRUD) and the disconnect log (read-only)."""

from typing import Any

from django.db import transaction
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.core.api import ScopedReadOnlyViewSet, documented
from ispbills.radius import services
from ispbills.radius.api.v1 import serializers
from ispbills.radius.filtersets import DisconnectFilterSet, NasDeviceFilterSet
from ispbills.radius.models import Disconnect, NasDevice
from ispbills.radius.views import with_online_count
from ispbills.tenancy.api import OperatorOwnedViewSet
from ispbills.tenancy.models import Operator


@documented(serializers.NasDeviceSerializer, serializers.NasDeviceCreateSerializer)
class NasDeviceViewSet(mixins.DestroyModelMixin, OperatorOwnedViewSet):
    """Routers that send RADIUS requests; each is mirrored into FreeRADIUS's ``nas`` table.

    The shared secret is write-only. DELETE removes the device and its client row.
    """

    queryset = with_online_count(NasDevice.objects.select_related("operator"))
    serializer_class = serializers.NasDeviceSerializer
    create_serializer_class = serializers.NasDeviceCreateSerializer
    filterset_class = NasDeviceFilterSet

    def save(self, *, operator: Operator, instance: Any, values: dict[str, Any]) -> Any:
        device = services.save_nas_device(
            actor=self.request.user, operator=operator, device=instance, **values
        )
        return with_online_count(NasDevice.objects.filter(pk=device.pk)).get()

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        device = self.get_object()
        with transaction.atomic():
            services.delete_nas_device(actor=request.user, device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DisconnectViewSet(ScopedReadOnlyViewSet):
    """Disconnect and CoA requests with the packets sent for each (newest first)."""

    queryset = Disconnect.objects.prefetch_related("packets")
    serializer_class = serializers.DisconnectSerializer
    filterset_class = DisconnectFilterSet
