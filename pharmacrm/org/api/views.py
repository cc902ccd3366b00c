"""API: token sign-in and the (read-only) directory of colleagues."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from pharmacrm.core.api.base import ScopedReadOnlyViewSet, expected_version
from pharmacrm.core.api.errors import error_response
from pharmacrm.org import services
from pharmacrm.org.models import Division, Team, User
from pharmacrm.org.roles import SECOND_FACTOR_ROLES, Role


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.CharField(max_length=6, required=False, allow_blank=True,
                                help_text="TOTP code; required for roles with a second factor")


class ObtainTokenView(APIView):
    """POST username + password (+ otp for admin roles) → {"token": "…"}; use as `Authorization: Token …`."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [AnonRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer,
                   responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            return error_response("invalid_credentials", _("Wrong username or password."),
                                  status.HTTP_400_BAD_REQUEST)
        if settings.REQUIRE_ADMIN_2FA and user.role in SECOND_FACTOR_ROLES:
            device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
            code = data.get("otp") or ""
            if device is None or not code or not device.verify_token(code):
                return error_response("second_factor_required", _("A valid code from your authenticator is required."),
                                      status.HTTP_400_BAD_REQUEST, {"otp": [_("Enter the 6-digit code.")]})
        return Response({"token": services.issue_api_token(user)})


class UserSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "role_display", "team", "version"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "parent", "manager"]


class AssignmentSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True)
    territories = serializers.PrimaryKeyRelatedField(queryset=Division.objects.all(), many=True)
    reason = serializers.CharField(max_length=500)
    version = serializers.IntegerField(required=False, help_text="or send If-Match: \"<version>\"")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CanChangeUsers(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("org.change_user"))


class UserViewSet(ScopedReadOnlyViewSet):
    """The colleague directory (active people); administrators change assignments and deactivate."""

    model = User
    serializer_class = UserSerializer
    queryset = User.objects.none()
    filterset_fields = ["role", "team"]
    permission_classes = [IsAuthenticated]  # the colleague directory is open to every signed-in user

    def get_permissions(self) -> list[BasePermission]:
        if self.action in {"assignment", "deactivate", "reactivate"}:
            return [IsAuthenticated(), CanChangeUsers()]
        return super().get_permissions()

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.action not in {"assignment", "deactivate", "reactivate"}:
            queryset = queryset.filter(is_active=True)
        return queryset.order_by("username")

    @extend_schema(request=AssignmentSerializer, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def assignment(self, request: Request, pk: str | None = None) -> Response:
        """Change role, team and territories (with a reason); a stale version answers 412."""
        person = self.get_object()
        payload = AssignmentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        services.update_assignment(actor=request.user, user=person, role=data["role"], team=data["team"],
                                   territories=list(data["territories"]), reason=data["reason"],
                                   expected_version=expected_version(request))
        return Response(UserSerializer(person).data)

    @extend_schema(request=ReasonSerializer, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """Deactivate an account (with a reason): its sessions and API token stop working."""
        return self._set_active(request, active=False)

    @extend_schema(request=ReasonSerializer, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        return self._set_active(request, active=True)

    def _set_active(self, request: Request, *, active: bool) -> Response:
        person = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.set_active(actor=request.user, user=person, active=active, reason=payload.validated_data["reason"])
        return Response(UserSerializer(person).data)


class TeamViewSet(ScopedReadOnlyViewSet):
    model = Team
    serializer_class = TeamSerializer
    queryset = Team.objects.none()
    permission_classes = [IsAuthenticated]


def register(router: DefaultRouter) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("teams", TeamViewSet, basename="team")
