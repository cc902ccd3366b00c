"""API of account requests: list and read (scoped), create through the service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from pharmacrm.core.api.base import ScopedModelViewSet
from pharmacrm.org import account_requests
from pharmacrm.org.models import AccountRequest, Division, Team
from pharmacrm.org.roles import Role


class AccountRequestSerializer(serializers.ModelSerializer):
    approval = serializers.SerializerMethodField()

    class Meta:
        model = AccountRequest
        fields = ["id", "username", "full_name", "email", "role", "team", "territories", "justification",
                  "status", "requested_by", "created_user", "created_at", "version", "approval"]

    def get_approval(self, obj: AccountRequest) -> int | None:
        approval = account_requests.approval_of(obj)
        return approval.pk if approval else None


class AccountRequestInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    full_name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    territories = serializers.PrimaryKeyRelatedField(queryset=Division.objects.all(), many=True, required=False)
    justification = serializers.CharField()


class AccountRequestViewSet(ScopedModelViewSet):
    """Requesters see their own requests, administrators and leadership all; others' rows are a 404."""

    model = AccountRequest
    queryset = AccountRequest.objects.none()
    serializer_class = AccountRequestSerializer
    select_related = ("requested_by", "team")

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "retrieve":  # row scope decides: "not yours" is the same 404 as "missing"
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_queryset(self) -> Any:
        return super().get_queryset().prefetch_related("territories").order_by("-id")

    @extend_schema(request=AccountRequestInputSerializer, responses={201: AccountRequestSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = AccountRequestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data.setdefault("territories", [])
        account_request = account_requests.request_account(actor=request.user, **data)
        return Response(AccountRequestSerializer(account_request).data, status=status.HTTP_201_CREATED)


def register(router: DefaultRouter) -> None:
    router.register("account-requests", AccountRequestViewSet, basename="accountrequest")
