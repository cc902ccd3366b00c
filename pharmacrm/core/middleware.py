"""Request id, security headers, per-user language, and a clean answer when the disk is full."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation

from pharmacrm.core.request_context import RequestMeta, request_meta

logger = logging.getLogger(__name__)
Handler = Callable[[HttpRequest], HttpResponse]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    """Give each request an id (or keep the proxy's X-Request-ID) for logs and audit entries."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        with request_meta(RequestMeta(request_id=request_id, ip_address=client_ip(request))):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """CSP and no-store on authenticated pages (they can carry personal data)."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/docs/"):
            # Swagger UI needs inline styles; its assets are still served locally.
            response.setdefault(
                "Content-Security-Policy", CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            )
        else:
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        if not request.path.startswith("/static/"):
            response.setdefault("Cache-Control", "no-store")
        return response


class UserLanguageMiddleware:
    """Use the signed-in user's language; LocaleMiddleware falls back to zh-hans."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get("language") if hasattr(request, "session") else None
        if language:
            request.COOKIES.setdefault("django_language", language)
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return self.get_response(request)


class DatabaseFullMiddleware:
    """Map SQLite's "database or disk is full" to a clean 507; the transaction has rolled back."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError) and "full" in str(exception).lower():
            logger.error("storage full: %s", exception)
            return JsonResponse(
                {"error": {"code": "storage_full", "message": translation.gettext(
                    "The server's storage is full. Nothing was saved; please try again later.")}},
                status=507,
            )
        return None
