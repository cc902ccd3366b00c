from __future__ import annotations

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import AuditAction, AuditEntry, SavedFilter


class StyledFilterSet(django_filters.FilterSet):
    """A FilterSet whose form widgets carry Bootstrap's small-control classes."""

    @property
    def form(self) -> forms.Form:
        form = super().form
        for field in form.fields.values():
            widget = field.widget
            css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
            widget.attrs.setdefault("class", css)
        return form


class AuditEntryFilter(StyledFilterSet):
    user = django_filters.CharFilter(label=_("User"), field_name="actor_username", lookup_expr="exact", max_length=150)
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    object_type = django_filters.ModelChoiceFilter(
        label=_("Object type"), field_name="content_type",
        queryset=ContentType.objects.filter(app_label__in=["core", "org", "customers"]).order_by("model"),
    )
    object_id = django_filters.CharFilter(label=_("Object id"), max_length=64)
    since = django_filters.DateFilter(label=_("From"), field_name="created_at", lookup_expr="date__gte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("To"), field_name="created_at", lookup_expr="date__lte",
                                      widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEntry
        fields = ["user", "action", "object_type", "object_id", "since", "until"]


class SavedFilterFilter(django_filters.FilterSet):
    """``?list_name=customers:institution_list``: the saved filters of one list page."""

    list_name = django_filters.CharFilter(max_length=100)

    class Meta:
        model = SavedFilter
        fields = ["list_name"]
