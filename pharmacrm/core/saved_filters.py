"""Saved filters: a user's named queries on one list page (issue 3: "Saved filters per user").

A saved filter is personal — only its owner sees, applies, changes or deletes it
(``SavedFilter.objects.visible_to``) — so being signed in is the only permission.
It belongs to one list page, named by the page's URL name. Only a page that is a
list (``offers_saved_filters``), that reverses without arguments and that the user
may open is accepted, so the URL a saved filter leads to is always one we build
with ``reverse()``, never one the client sent (no open redirect).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, TooManyFieldsSent, ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, audited_delete, audited_update
from pharmacrm.core.models import SavedFilter

#: parameters that say how to deliver a list, not which rows it holds: never saved
NOT_SAVED = frozenset({"page", "format", "csrfmiddlewaretoken"})


def normalize_querystring(querystring: str | QueryDict) -> str:
    """The part of a list's query worth saving: without page, format and empty values, keys sorted
    (so the same filter always reads the same and the page can mark the one in force)."""
    try:
        query = querystring if isinstance(querystring, QueryDict) else QueryDict(str(querystring).lstrip("?"))
    except TooManyFieldsSent as exc:
        raise ValidationError({"querystring": _("This is not a list page's query.")}) from exc
    kept = QueryDict(mutable=True)
    for key, values in sorted(query.lists()):
        values = [value for value in values if value != ""]
        if key not in NOT_SAVED and values:
            kept.setlist(key, values)
    return kept.urlencode()


def list_path(list_name: str, user: Any) -> str:
    """The path of the list page ``list_name`` names, if it is a list the user may open."""
    refused = ValidationError({"list_name": _("This is not a list page you can open.")}, code="invalid")
    try:
        path = reverse(list_name)
        match = resolve("/" + path.removeprefix(get_script_prefix()))
    except (NoReverseMatch, Resolver404) as exc:
        raise refused from exc
    view_class = getattr(match.func, "view_class", None)
    if not getattr(view_class, "offers_saved_filters", False):
        raise refused
    permission = getattr(view_class, "permission_required", None)
    if permission and not user.has_perm(permission):
        raise refused
    return path


def list_url(list_name: str, querystring: str = "") -> str:
    """The list page with the query applied; the home page if that list no longer exists."""
    try:
        path = reverse(list_name)
    except NoReverseMatch:
        return reverse("core:home")
    querystring = normalize_querystring(querystring)
    return f"{path}?{querystring}" if querystring else path


def _duplicate() -> ValidationError:
    return ValidationError({"name": ValidationError(
        _("You already have a saved filter with this name on this list. Choose another name or replace it."),
        code="duplicate")})


def is_duplicate_name(error: ValidationError) -> bool:
    """True when a service refused a name because the user already uses it on that list."""
    return any(item.code == "duplicate" for item in getattr(error, "error_dict", {}).get("name", []))


def create_saved_filter(*, actor: Any, list_name: str, name: str, querystring: str = "",
                        overwrite: bool = False) -> SavedFilter:
    """Save a list page's current query under a name, for the actor only.

    Names are unique per user and list: a name already used is refused unless
    ``overwrite`` is set, in which case that filter takes the new query.
    """
    list_path(list_name, actor)
    name = (name or "").strip()
    querystring = normalize_querystring(querystring)
    try:
        with transaction.atomic():
            existing = SavedFilter.objects.visible_to(actor).filter(list_name=list_name, name=name).first()
            if existing is not None:
                if not overwrite:
                    raise _duplicate()
                return audited_update(existing, actor=actor, changes={"querystring": querystring})
            return audited_create(SavedFilter, actor=actor, user=actor, list_name=list_name, name=name,
                                  querystring=querystring)
    except IntegrityError as exc:  # the same name saved at the same moment from another tab
        raise _duplicate() from exc


def _require_owner(actor: Any, saved_filter: SavedFilter) -> None:
    # Callers look filters up through visible_to (someone else's is a 404); this guards other callers.
    if saved_filter.user_id != getattr(actor, "pk", None):
        raise PermissionDenied


def update_saved_filter(*, actor: Any, saved_filter: SavedFilter, changes: dict[str, Any],
                        expected_version: int | None = None) -> SavedFilter:
    """Rename one of the actor's saved filters or change its query; its list and owner stay."""
    _require_owner(actor, saved_filter)
    allowed = {key: value for key, value in changes.items() if key in ("name", "querystring")}
    if "name" in allowed:
        allowed["name"] = (allowed["name"] or "").strip()
        if SavedFilter.objects.visible_to(actor).filter(list_name=saved_filter.list_name, name=allowed["name"]
                                                        ).exclude(pk=saved_filter.pk).exists():
            raise _duplicate()
    if "querystring" in allowed:
        allowed["querystring"] = normalize_querystring(allowed["querystring"] or "")
    try:
        with transaction.atomic():
            return audited_update(saved_filter, actor=actor, changes=allowed, expected_version=expected_version)
    except IntegrityError as exc:
        raise _duplicate() from exc


def delete_saved_filter(*, actor: Any, saved_filter: SavedFilter) -> None:
    """Delete one of the actor's saved filters."""
    _require_owner(actor, saved_filter)
    audited_delete(saved_filter, actor=actor)
