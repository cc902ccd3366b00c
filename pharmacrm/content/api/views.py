"""Content API: ``/api/v1/content/items/`` (``approve/``), ``/api/v1/content/schedules/``,
``/api/v1/content/pushes/`` (create = send, ``preview/``), ``/api/v1/content/deliveries/`` — the same services and
scope as the pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.content import services
from pharmacrm.content.choices import PUSH_CHANNELS, ContentKind
from pharmacrm.content.filters import DeliveryFilter
from pharmacrm.content.models import (
    MAX_BODY,
    MAX_INTERPRETATION,
    ContentDelivery,
    ContentItem,
    ContentPush,
    ContentSchedule,
)
from pharmacrm.core.api.base import (
    ScopedModelViewSet,
    ScopedReadOnlyViewSet,
    check_precondition,
    expected_version,
    require_visible,
    validated,
)
from pharmacrm.grading.choices import StrategyDimension
from pharmacrm.org.scope import authorize

# --- items -------------------------------------------------------------------------------------------------------


class ContentItemSerializer(serializers.ModelSerializer):
    approved = serializers.BooleanField(read_only=True)

    class Meta:
        model = ContentItem
        fields = ["id", "kind", "title", "source", "source_url", "interpretation", "body", "attachment", "created_by",
                  "approved", "approved_by", "approved_at", "version", "created_at", "updated_at"]
        read_only_fields = fields


class ContentItemInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContentKind.choices)
    title = serializers.CharField(max_length=200)
    interpretation = serializers.CharField(max_length=MAX_INTERPRETATION)
    source = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    source_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=MAX_BODY, required=False, allow_blank=True, default="")


class ContentItemViewSet(ScopedModelViewSet):
    model = ContentItem
    queryset = ContentItem.objects.none()
    serializer_class = ContentItemSerializer

    @extend_schema(request=ContentItemInputSerializer, responses=ContentItemSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(ContentItemInputSerializer, request)
        item = services.save_item(actor=request.user, **data)
        return Response(ContentItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContentItemInputSerializer, responses=ContentItemSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace the item's text (send ``If-Match`` with the version you last saw); any change to what a
        customer reads takes the approval away. PATCH sends only the fields that change."""
        item = self.get_object()
        partial = kwargs.get("partial", False)
        data = validated(ContentItemInputSerializer, request, partial=partial)
        current = {name: getattr(item, name) for name in ("kind", "title", "interpretation", "source", "source_url",
                                                          "body")}
        item = services.save_item(actor=request.user, item=item, expected_version=expected_version(request),
                                  **{**current, **data})
        return Response(ContentItemSerializer(item).data)

    @extend_schema(request=ContentItemInputSerializer, responses=ContentItemSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(request=None, responses=ContentItemSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Needs ``If-Match`` with the version compliance read, like an edit: a changed item is not approved unseen."""
        item = self.get_object()
        authorize(request.user, "content.approve_contentitem")  # who may approve before which version
        check_precondition(request, item)
        item = services.approve_item(actor=request.user, item=item, expected_version=expected_version(request))
        return Response(ContentItemSerializer(item).data)


# --- schedules ---------------------------------------------------------------------------------------------------


class ContentScheduleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContentSchedule
        fields = ["id", "dimension", "klass", "kind", "every_days", "channel", "active", "note", "version",
                  "created_at"]
        read_only_fields = fields


class ContentScheduleViewSet(ScopedReadOnlyViewSet):
    model = ContentSchedule
    queryset = ContentSchedule.objects.none()
    serializer_class = ContentScheduleSerializer


# --- pushes ------------------------------------------------------------------------------------------------------


class ContentPushSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContentPush
        fields = ["id", "item", "schedule", "dimension", "klass", "channel", "sent_by", "sent_at", "in_segment",
                  "delivered", "skipped_already", "skipped_withdrawn", "skipped_no_consent"]
        read_only_fields = fields


class PushInputSerializer(serializers.Serializer):
    item = serializers.PrimaryKeyRelatedField(queryset=ContentItem.objects.all())
    schedule = serializers.PrimaryKeyRelatedField(queryset=ContentSchedule.objects.all(), required=False,
                                                  allow_null=True, default=None)
    dimension = serializers.ChoiceField(choices=StrategyDimension.choices, required=False, allow_blank=True,
                                        default="")
    klass = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=PUSH_CHANNELS, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("schedule") is None and not (attrs.get("dimension") and attrs.get("klass")):
            raise serializers.ValidationError({"schedule": ["Give a schedule, or a dimension and a class."]})
        return attrs


class PreviewSerializer(serializers.Serializer):
    in_segment = serializers.IntegerField()
    will_receive = serializers.IntegerField()
    already = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    no_consent = serializers.IntegerField()


class ContentPushViewSet(ScopedModelViewSet):
    model = ContentPush
    queryset = ContentPush.objects.none()
    serializer_class = ContentPushSerializer

    def _target(self, request: Request) -> dict[str, Any]:
        data = validated(PushInputSerializer, request)
        require_visible(ContentItem, request.user, data["item"], "item")
        require_visible(ContentSchedule, request.user, data["schedule"], "schedule")
        return data

    @extend_schema(request=PushInputSerializer, responses=ContentPushSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send an approved item to a segment: the deliveries are recorded at once."""
        push = services.send_push(actor=request.user, **self._target(request))
        return Response(ContentPushSerializer(push).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PushInputSerializer, responses=PreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """How many contacts a push would reach, and how many it would skip and why (no write)."""
        counts = services.preview_push(**self._target(request))
        return Response(PreviewSerializer(counts).data)


# --- deliveries --------------------------------------------------------------------------------------------------


class ContentDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = ContentDelivery
        fields = ["id", "push", "item", "contact", "institution", "channel", "delivered_at"]
        read_only_fields = fields


class ContentDeliveryViewSet(ScopedReadOnlyViewSet):
    model = ContentDelivery
    queryset = ContentDelivery.objects.none()
    serializer_class = ContentDeliverySerializer
    filterset_class = DeliveryFilter


def register(router: DefaultRouter) -> None:
    router.register("content/items", ContentItemViewSet, basename="contentitem")
    router.register("content/schedules", ContentScheduleViewSet, basename="contentschedule")
    router.register("content/pushes", ContentPushViewSet, basename="contentpush")
    router.register("content/deliveries", ContentDeliveryViewSet, basename="contentdelivery")
