"""Generic UI views every list and detail page builds on.

They start every queryset from ``visible_to(request.user)`` and refuse to serve
a model without it, so "not yours" and "does not exist" are the same 404.
List pages paginate without ``COUNT(*)`` (one extra row tells whether a next
page exists) and answer htmx requests with the ``rows`` partial only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from pharmacrm.core.exports import Column, export_csv
from pharmacrm.core.models import SavedFilter
from pharmacrm.core.querysets import is_scoped
from pharmacrm.core.saved_filters import normalize_querystring

#: pages past this are empty anyway (10^7 × MAX_PAGE_SIZE rows); a cap keeps OFFSET within 64 bits
MAX_PAGE_NUMBER = 10_000_000
MAX_PAGE_SIZE = 200

#: labels of the usual sort keys; a view adds its own in ``sort_labels``
SORT_LABELS = {
    "-id": _("Newest first"), "id": _("Oldest first"), "name": _("Name"), "-updated_at": _("Recently updated"),
    "username": _("Username"), "status": _("Status"), "-last_login": _("Last login"),
}


def scoped_queryset(model: type[models.Model], user: Any) -> models.QuerySet:
    if not is_scoped(model):
        raise ImproperlyConfigured(f"{model.__name__} has no visible_to(user); refusing to serve it.")
    return model._default_manager.visible_to(user)


def require(request: HttpRequest, permission: str) -> None:
    """Refuse the page (403) to a user without ``permission``."""
    if not request.user.has_perm(permission):
        raise PermissionDenied


def refused(request: HttpRequest, error: Exception) -> None:
    """A service's refusal as error messages on the next page (for actions posted without a form)."""
    for message in getattr(error, "messages", None) or [str(error) or _("You may not do this.")]:
        messages.error(request, message)


def service_error(form: Any, error: Exception) -> None:
    """A service's refusal on the form: field messages where it names fields, else one for the whole form."""
    from pharmacrm.core.audit import StaleVersion
    from pharmacrm.core.forms import add_service_errors

    if isinstance(error, (ValidationError, StaleVersion)):
        add_service_errors(form, error)
    else:
        form.add_error(None, str(error) or _("You may not do this."))


def get_visible_or_404(model: type[models.Model] | models.QuerySet, user: Any, **lookup: Any) -> Any:
    """The one record the user may see, or 404; a queryset (with select_related, say) is scoped too."""
    if isinstance(model, models.QuerySet):
        queryset = model & scoped_queryset(model.model, user)
        model = model.model
    else:
        queryset = scoped_queryset(model, user)
    try:
        return queryset.get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


class Page:
    """A page of rows fetched with LIMIT n+1 — no COUNT(*) on large tables."""

    def __init__(self, queryset: models.QuerySet, number: int, size: int):
        # beyond the last page a list is empty; a huge ?page= must not overflow the database's OFFSET (64-bit)
        self.number = min(max(1, number), MAX_PAGE_NUMBER)
        self.size = size
        offset = (self.number - 1) * size
        try:
            rows = list(queryset[offset:offset + size + 1])
        except OverflowError:  # SQLite: an id filter beyond 64 bits (?institution=-1e308) matches no row
            rows = []
        self.has_next = len(rows) > size
        self.object_list = rows[:size]
        self.has_previous = self.number > 1
        self.start_index = offset + 1 if self.object_list else 0
        self.end_index = offset + len(self.object_list)

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def parse_positive_int(value: str | None, default: int, maximum: int | None = None) -> int:
    try:
        number = int(value or default)
    except ValueError:
        number = default
    number = max(1, number)
    return min(number, maximum) if maximum else number


class ScopedMixin(LoginRequiredMixin):
    model: type[models.Model]
    #: permission needed to open the page ("app.codename"); None = any signed-in user
    permission_required: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and self.permission_required and not request.user.has_perm(
            self.permission_required
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self) -> models.QuerySet:
        return scoped_queryset(self.model, self.request.user)


class ScopedListView(ScopedMixin, TemplateView):
    """Search, filters (a django-filter FilterSet), sort and pagination over the scoped queryset.

    With ``export_columns`` set, ``?format=csv`` streams the same filtered rows
    as an audited CSV to users holding ``export_permission``. Users can save the
    current query under a name (``core.saved_filters``) and apply it later.
    """

    filterset_class: Any = None
    #: allowed sort keys → ORDER BY fields; the first is the default
    sort_options: dict[str, tuple[str, ...]] = {}
    sort_labels: dict[str, Any] = {}
    page_size = 25
    select_related: tuple[str, ...] = ()
    #: (header, accessor) pairs for the CSV export; empty = no export
    export_columns: tuple[Column, ...] = ()
    export_permission: str | None = None
    export_name = "export"
    #: relations the export columns read beyond ``select_related``
    export_select_related: tuple[str, ...] = ()
    #: the path from a row to the person it names ("pk" on contacts, "contact_id"): the export is then one of
    #: personal data — logged per person, and above the policy's threshold only with the DPO's approval
    export_persons: str | None = None
    #: the page may be named as a saved filter's list (``core.saved_filters.list_path``)
    offers_saved_filters = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            return self.export()
        return super().get(request, *args, **kwargs)

    def can_export(self) -> bool:
        return bool(self.export_columns) and (
            self.export_permission is None or self.request.user.has_perm(self.export_permission))

    def export(self) -> HttpResponse:
        if not self.export_columns:
            raise Http404
        if not self.can_export():
            raise PermissionDenied
        filterset, queryset = self.get_rows()
        if filterset is not None and filterset.is_bound and not filterset.is_valid():
            return HttpResponse(str(filterset.errors.as_text()), status=400, content_type="text/plain; charset=utf-8")
        if self.export_select_related:
            queryset = queryset.select_related(*self.export_select_related)
        filters = {key: value for key, value in self.request.GET.items() if key != "format"}

        def respond() -> HttpResponse:
            return export_csv(actor=self.request.user, queryset=queryset, columns=self.export_columns,
                              name=self.export_name, filters=filters)

        if self.export_persons is None:
            return respond()
        from pharmacrm.privacy.exports import export_of_persons  # privacy builds on core

        return export_of_persons(self.request, queryset.values_list(self.export_persons, flat=True), respond)

    def get_rows(self) -> tuple[Any, models.QuerySet]:
        queryset = self.get_queryset()
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
            queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
        sort = self.request.GET.get("sort", "")
        if sort not in self.sort_options:
            sort = next(iter(self.sort_options), "")
        if sort:
            queryset = queryset.order_by(*self.sort_options[sort])
        self.current_sort = sort
        return filterset, queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        filterset, queryset = self.get_rows()
        size = parse_positive_int(self.request.GET.get("page_size"), self.page_size, MAX_PAGE_SIZE)
        page = Page(queryset, parse_positive_int(self.request.GET.get("page"), 1), size)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filterset=filterset, page=page, rows=page.object_list, sort=self.current_sort,
            sort_choices=[(key, {**SORT_LABELS, **self.sort_labels}.get(key, key)) for key in self.sort_options],
            querystring=query.urlencode(), model_meta=self.model._meta,
            can_export=self.can_export(), **self.saved_filter_context(),
        )
        return context

    def saved_filter_context(self) -> dict[str, Any]:
        """The user's saved filters for this page (a lazy queryset: the rows partial never runs it)."""
        match = self.request.resolver_match
        # a saved filter names its list by URL name alone, so only pages without URL arguments offer them
        offered = self.offers_saved_filters and match is not None and not (match.args or match.kwargs)
        list_name = match.view_name if offered else ""
        return {
            "saved_filter_list_name": list_name,
            "saved_filters": (SavedFilter.objects.visible_to(self.request.user).filter(list_name=list_name)
                              if list_name else SavedFilter.objects.none()),
            "saved_filter_querystring": normalize_querystring(self.request.GET),
        }

    def get_template_names(self) -> list[str]:
        names = super().get_template_names()
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted and htmx.target == "rows":
            return [f"{name}#rows" for name in names]
        return names


class ScopedDetailView(ScopedMixin, TemplateView):
    """One record, looked up through the scoped queryset."""

    context_object_name = "object"

    def get_object(self) -> Any:
        if not hasattr(self, "_object"):
            self._object = get_visible_or_404(self.model, self.request.user, pk=self.kwargs["pk"])
        return self._object

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        obj = self.get_object()
        context.update(object=obj, model_meta=self.model._meta)
        context[self.context_object_name] = obj
        return context
