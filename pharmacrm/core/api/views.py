"""API of the shared mechanisms: notifications and the audit trail."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import RolePermissions, ScopedReadOnlyViewSet
from pharmacrm.core.filters import AuditEntryFilter
from pharmacrm.core.models import AuditEntry, Notification
from pharmacrm.core.notifications import mark_read


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "url", "read_at", "created_at"]


class NotificationViewSet(ScopedReadOnlyViewSet):
    model = Notification
    queryset = Notification.objects.none()
    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]  # every user has an inbox; rows are their own

    @extend_schema(request=None, responses=inline_serializer("MarkedRead", {"marked": serializers.IntegerField()}))
    @action(detail=False, methods=["post"])
    def read_all(self, request: Request) -> Response:
        return Response({"marked": mark_read(request.user)})


class AuditEntrySerializer(serializers.ModelSerializer):
    object_type = serializers.CharField(source="content_type.model", default="", read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "created_at", "actor", "actor_username", "action", "object_type", "object_id",
                  "object_repr", "changes", "reason", "request_id", "ip_address", "previous_hash", "entry_hash"]


class AuditEntryViewSet(ScopedReadOnlyViewSet):
    model = AuditEntry
    queryset = AuditEntry.objects.none()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    permission_classes = [RolePermissions]
    select_related = ("content_type",)


def register(router: DefaultRouter) -> None:
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("audit-entries", AuditEntryViewSet, basename="auditentry")
