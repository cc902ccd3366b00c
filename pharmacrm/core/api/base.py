"""Base API viewsets: scoped reads, service writes, optimistic locking via ETag / version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from pharmacrm.core.querysets import is_scoped


class RolePermissions(DjangoModelPermissions):
    """Model permissions from the user's role; reads need the view permission too.

    Custom actions (``POST /licences/{id}/review/``) need only the view permission here:
    their service checks the right it needs (``customers.review_licence``), as for the pages.
    """

    STANDARD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update", "destroy", "metadata", None}

    def _queryset(self, view: Any) -> Any:
        return view.get_queryset()

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) not in self.STANDARD_ACTIONS:
            if not (request.user and request.user.is_authenticated):
                return False
            model = view.model
            return request.user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")
        return super().has_permission(request, view)

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


class PreconditionRequired(exceptions.APIException):
    """A write to a versioned record without the version the client last read (RFC 6585 428)."""

    status_code = 428
    default_detail = _("Send If-Match with the ETag (version) you last read: blind overwrites are refused.")
    default_code = "precondition_required"


#: methods that change or remove one record: they must say which version they change (RELIABILITY check 23)
CONDITIONAL_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
#: actions whose response is one record: they carry its version as the ETag
SINGLE_RECORD_ACTIONS = frozenset({"retrieve", "update", "partial_update"})


class ScopedViewSetMixin:
    """Start every queryset from visible_to(request.user); refuse models without it.

    Optimistic locking for every detail write (RELIABILITY check 23, ASVS 2.3.4): a PUT, PATCH or DELETE of a
    versioned record needs ``If-Match: "<version>"`` (or a ``version`` field) — none: 428, a stale one: 412 with
    the current ETag, before the service runs (which checks again under its row lock). Single-record responses
    carry the ETag.
    """

    model: type[models.Model]
    select_related: tuple[str, ...] = ()
    request: Request
    action: str | None

    def get_queryset(self) -> models.QuerySet:
        if not is_scoped(self.model):
            raise ImproperlyConfigured(f"{self.model.__name__} has no visible_to(user); refusing to serve it.")
        queryset = self.model._default_manager.visible_to(self.request.user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset

    def get_object(self) -> Any:
        try:
            obj = super().get_object()  # type: ignore[misc]
        except (ValueError, TypeError) as exc:  # malformed ids are "not found" too
            raise Http404 from exc
        if self.request.method in CONDITIONAL_METHODS and self.action in (*SINGLE_RECORD_ACTIONS, "destroy"):
            check_precondition(self.request, obj)
        return obj

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        data = getattr(response, "data", None)
        if (self.action in SINGLE_RECORD_ACTIONS and 200 <= response.status_code < 300 and isinstance(data, dict)
                and isinstance(data.get("version"), int) and not response.has_header("ETag")):
            response["ETag"] = f'"{data["version"]}"'
        return response


def check_precondition(request: Request, obj: models.Model) -> None:
    """428 without a version, 412 (StaleVersion) with a stale one — for versioned records."""
    from pharmacrm.core.audit import StaleVersion, is_versioned

    if not is_versioned(type(obj)):
        return
    seen = expected_version(request)
    if seen is None:
        raise PreconditionRequired
    if seen != obj.version:  # type: ignore[attr-defined]
        raise StaleVersion(obj.version)  # type: ignore[attr-defined]


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [RolePermissions]


class ScopedModelViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Writes are added per viewset as small methods that call one service."""

    permission_classes = [RolePermissions]


def expected_version(request: Request) -> int | None:
    """The version the client last saw: If-Match: "<version>" or a `version` field."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    data = getattr(request, "data", None)
    value = header or (data.get("version") if hasattr(data, "get") else None)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def validated(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    """The request's input checked by ``serializer_class`` (a field-level 400 otherwise), as a plain dict."""
    payload = serializer_class(data=request.data, **kwargs)
    payload.is_valid(raise_exception=True)
    return dict(payload.validated_data)


def require_visible(model: type[models.Model], user: Any, obj: Any, field: str) -> None:
    """A referenced record (parent, institution) must be one the user can see: else it "does not exist"."""
    if obj is not None and not model._default_manager.visible_to(user).filter(pk=obj.pk).exists():
        raise ValidationError({field: ["Not found."]})


def with_etag(data: Any, version: int, http_status: int = status.HTTP_200_OK) -> Response:
    """A record's representation with its version as the ETag (the If-Match of the next edit)."""
    response = Response(data, status=http_status)
    response["ETag"] = f'"{version}"'
    return response
