"""Session policy: idle timeout, and a verified TOTP device for admin roles."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from pharmacrm.org.roles import SECOND_FACTOR_ROLES

ACTIVITY_KEY = "last_activity"
OPEN_PATHS = ("/static/", "/healthz", "/login/", "/logout/", "/2fa/", "/i18n/", "/api/")


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and request.session.session_key:
            now = int(time.time())
            last = request.session.get(ACTIVITY_KEY, now)
            if now - last > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": {"code": "session_expired", "message": "Session expired"}},
                                        status=401)
                return redirect(f"{reverse('org:login')}?next={request.path}")
            if now - last >= 60 or ACTIVITY_KEY not in request.session:
                # touched at most once a minute: a session write per request would serialise SQLite
                request.session[ACTIVITY_KEY] = now
            if self._needs_second_factor(request) and not request.path.startswith(OPEN_PATHS):
                return redirect(f"{reverse('org:two_factor')}?next={request.path}")
        return self.get_response(request)

    @staticmethod
    def _needs_second_factor(request: HttpRequest) -> bool:
        user = request.user
        if not settings.REQUIRE_ADMIN_2FA or user.role not in SECOND_FACTOR_ROLES:
            return False
        # API clients use tokens, whose issue requires a verified login for these roles.
        return not user.is_verified()
