"""API: token sign-in and the (read-only) directory of colleagues."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from pharmacrm.core.api.base import ScopedReadOnlyViewSet
from pharmacrm.core.api.errors import error_response
from pharmacrm.org.models import Team, User
from pharmacrm.org.roles import SECOND_FACTOR_ROLES
from pharmacrm.org.services import issue_api_token


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
        return Response({"token": issue_api_token(user)})


class UserSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "role_display", "team"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "parent", "manager"]


class UserViewSet(ScopedReadOnlyViewSet):
    model = User
    serializer_class = UserSerializer
    queryset = User.objects.none()
    filterset_fields = ["role", "team"]
    permission_classes = [IsAuthenticated]  # the colleague directory is open to every signed-in user

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(is_active=True).order_by("username")


class TeamViewSet(ScopedReadOnlyViewSet):
    model = Team
    serializer_class = TeamSerializer
    queryset = Team.objects.none()
    permission_classes = [IsAuthenticated]


def register(router: DefaultRouter) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("teams", TeamViewSet, basename="team")
