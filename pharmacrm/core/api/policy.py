"""Read-only API of the policy parameters: what is in force today, for every signed-in user."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core import policy
from pharmacrm.core.audit import to_jsonable
from pharmacrm.core.models import PolicyValue


class PolicyParamSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.JSONField(help_text="Value in force today (China time).")
    default = serializers.JSONField()


class PolicyParamViewSet(viewsets.GenericViewSet):
    """Declared parameters with today's value; changes are made on the Settings page."""

    permission_classes = [IsAuthenticated]
    serializer_class = PolicyParamSerializer
    queryset = PolicyValue.objects.none()  # rows come from the declared parameters, not a table

    @extend_schema(responses=PolicyParamSerializer(many=True))
    def list(self, request: Request) -> Response:
        rows: list[dict[str, Any]] = [
            {"key": status.key, "label": str(status.param.label), "value": to_jsonable(status.current),
             "default": to_jsonable(status.param.default)}
            for status in policy.statuses(history_limit=0)
        ]
        page = self.paginate_queryset(rows)  # the project-wide list contract: {"results": [...], "page": …}
        return self.get_paginated_response(PolicyParamSerializer(page, many=True).data)


def register(router: DefaultRouter) -> None:
    router.register("policy-params", PolicyParamViewSet, basename="policy-param")
