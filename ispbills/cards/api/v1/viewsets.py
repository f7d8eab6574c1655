"""v1 endpoints of cards: batches (list, read, generate, issue), cards (list, read, bulk
void, redeem a PIN for a customer; a plain PIN is never returned)."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from ispbills.cards import services
from ispbills.cards.api.v1 import serializers
from ispbills.cards.filtersets import CardBatchFilterSet, CardFilterSet
from ispbills.cards.forms import distributors_for
from ispbills.cards.models import Card, CardBatch
from ispbills.catalog.models import Package
from ispbills.core.api import ScopedReadOnlyViewSet
from ispbills.customers.models import Customer
from ispbills.tenancy.models import Operator


def _distributor(request: Request, pk: Any) -> Any:
    """A card distributor of the caller's ISP and subtree, by its id."""
    if pk in (None, ""):
        return None
    user = distributors_for(request.user).filter(pk=pk).first()
    if user is None:
        raise NotFound("No such distributor.")
    return user


class CardBatchViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Card batches the caller may see, newest first; creating one generates its cards."""

    queryset = CardBatch.objects.select_related("package", "distributor").order_by("-id")
    serializer_class = serializers.CardBatchSerializer
    filterset_class = CardBatchFilterSet
    action_permissions = {"issue": "add"}

    @extend_schema(
        summary="Generate a batch of cards (random PINs, serials) for a package or a value.",
        request=serializers.CardBatchCreateSerializer,
        responses={201: serializers.CardBatchSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.CardBatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        operator = Operator.objects.restrict(request.user).filter(pk=data["operator"]).first()
        if operator is None:
            raise NotFound("No such operator.")
        package = None
        if data.get("package"):
            package = Package.objects.restrict(request.user).filter(pk=data["package"]).first()
            if package is None:
                raise NotFound("No such package.")
        with transaction.atomic():
            batch = services.generate_batch(
                actor=request.user,
                operator=operator,
                name=data["name"],
                count=data["count"],
                expires_at=data["expires_at"],
                package=package,
                value=data.get("value"),
                distributor=_distributor(request, data.get("distributor")),
                commission_percent=data.get("commission_percent") or 0,
                commission_on=data.get("commission_on") or "use",
            )
            self.check_still_visible(batch)
        return Response(
            serializers.CardBatchSerializer(batch, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Issue the batch's unissued cards to a card distributor.",
        request=serializers.CardIssueSerializer,
        responses={200: serializers.CardIssueResultSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.CardIssueSerializer)
    def issue(self, request: Request, pk: Any = None) -> Response:
        batch = self.get_object()
        body = serializers.CardIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            issued = services.issue_batch(
                actor=request.user,
                batch=batch,
                distributor=_distributor(request, body.validated_data["distributor"]),
            )
        return Response({"issued": issued})


class CardViewSet(ScopedReadOnlyViewSet):
    """Cards the caller may see (a distributor: its own), newest first; no plain PIN."""

    queryset = Card.objects.select_related("batch").order_by("-id")
    serializer_class = serializers.CardSerializer
    filterset_class = CardFilterSet
    action_permissions = {"redeem": "change", "void": "delete"}

    @extend_schema(
        summary="Redeem a card PIN for a customer: the card's value is paid through the "
        "payment pipeline (method card, reference the serial), exactly once.",
        request=serializers.CardRedeemSerializer,
        responses={
            201: serializers.CardSerializer,
            400: OpenApiResponse(description="A wrong PIN, or one that cannot be a PIN."),
            404: OpenApiResponse(description="No such customer in your reach."),
            409: OpenApiResponse(
                description="The card is used, expired, void, unissued, for another "
                "package, or the customer already has a period paid ahead."
            ),
            429: OpenApiResponse(
                description="Too many wrong PINs for this customer, address or distributor."
            ),
        },
    )
    @action(detail=False, methods=["post"], serializer_class=serializers.CardRedeemSerializer)
    def redeem(self, request: Request) -> Response:
        body = serializers.CardRedeemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = (
            Customer.objects.restrict(request.user)
            .filter(pk=body.validated_data["customer"])
            .first()
        )
        if customer is None:
            raise NotFound("No such customer.")
        # Not in a transaction of ours: a refused attempt's record must commit (the lock-out).
        card = services.redeem_card(
            actor=request.user, customer=customer, pin=body.validated_data["pin"]
        )
        return Response(
            serializers.CardSerializer(card, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Void unused cards (unissued or issued); used ones are left as they are.",
        request=serializers.CardVoidSerializer,
        responses={200: serializers.CardVoidResultSerializer},
    )
    @action(detail=False, methods=["post"], serializer_class=serializers.CardVoidSerializer)
    def void(self, request: Request) -> Response:
        body = serializers.CardVoidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cards = self.get_queryset().filter(pk__in=body.validated_data["cards"])
        with transaction.atomic():
            voided = services.void_cards(
                actor=request.user, cards=cards, reason=body.validated_data["reason"]
            )
        return Response({"voided": voided})
