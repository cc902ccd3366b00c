"""Base API viewsets: scoped reads, service writes, optimistic locking via ETag / version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.http import Http404
from rest_framework import mixins, serializers, status, viewsets
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


class ScopedViewSetMixin:
    """Start every queryset from visible_to(request.user); refuse models without it."""

    model: type[models.Model]
    select_related: tuple[str, ...] = ()
    request: Request

    def get_queryset(self) -> models.QuerySet:
        if not is_scoped(self.model):
            raise ImproperlyConfigured(f"{self.model.__name__} has no visible_to(user); refusing to serve it.")
        queryset = self.model._default_manager.visible_to(self.request.user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        return queryset

    def get_object(self) -> Any:
        try:
            return super().get_object()  # type: ignore[misc]
        except (ValueError, TypeError) as exc:  # malformed ids are "not found" too
            raise Http404 from exc


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [RolePermissions]


class ScopedModelViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Writes are added per viewset as small methods that call one service."""

    permission_classes = [RolePermissions]


def expected_version(request: Request) -> int | None:
    """The version the client last saw: If-Match: "<version>" or a `version` field."""
    header = request.headers.get("If-Match", "").strip().strip('W/').strip('"')
    value = header or request.data.get("version") if hasattr(request, "data") else header
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
