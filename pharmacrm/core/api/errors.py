"""One error format for the whole API, with field errors in the user's language.

    {"error": {"code": "invalid", "message": "…", "fields": {"name": ["…"]}}}

Service-layer ``django.core.exceptions.ValidationError``s, stale versions and
refused transitions map here, so API and UI messages match.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.workflow import TransitionNotAllowed


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    return {"non_field_errors": [str(item) for item in (detail if isinstance(detail, list) else [detail])]}


def validation_error_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [str(message) for message in messages.messages if message is not None]
                if hasattr(messages, "messages") else [str(m) for m in messages]
                for field, messages in error.message_dict.items()}
    return {"non_field_errors": [str(message) for message in error.messages]}


def error_response(code: str, message: str, http_status: int, fields: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return error_response("invalid", _("Please correct the errors below."), status.HTTP_400_BAD_REQUEST,
                              validation_error_fields(exc))
    if isinstance(exc, StaleVersion):
        return error_response("stale_version", str(exc), status.HTTP_412_PRECONDITION_FAILED,
                              headers={"ETag": f'"{exc.current_version}"'})
    if isinstance(exc, TransitionNotAllowed):
        return error_response("transition_not_allowed", str(exc), status.HTTP_409_CONFLICT)
    if isinstance(exc, (DjangoPermissionDenied, exceptions.PermissionDenied)):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return error_response("invalid", _("Please correct the errors below."), response.status_code,
                              _field_errors(exc.detail))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    response.data = {"error": {"code": code if isinstance(code, str) else "error", "message": str(detail)}}
    return response
