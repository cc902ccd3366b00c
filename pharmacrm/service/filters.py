"""Filters of the case list."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.service.choices import OPEN_CASE_STATUSES, CaseKind, CaseStatus, PvKind, Severity
from pharmacrm.service.models import Case

DATE = forms.DateInput(attrs={"type": "date"})
STATE_CHOICES = [("open", _("Open")), *CaseStatus.choices]


class CaseFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(label=_("Status"), choices=STATE_CHOICES, method="filter_state")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=CaseKind.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    pv_kind = django_filters.ChoiceFilter(label=_("Pharmacovigilance flag"), choices=PvKind.choices)
    mine = django_filters.BooleanFilter(label=_("Mine"), method="filter_mine", widget=forms.CheckboxInput)
    received_from = django_filters.DateFilter(label=_("From"), field_name="received_at", lookup_expr="date__gte",
                                              widget=DATE)
    received_to = django_filters.DateFilter(label=_("To"), field_name="received_at", lookup_expr="date__lte",
                                            widget=DATE)
    institution = django_filters.NumberFilter(label=_("Customer"), field_name="institution_id",
                                              widget=forms.HiddenInput)

    class Meta:
        model = Case
        fields = ["state", "kind", "severity", "pv_kind", "mine", "received_from", "received_to", "institution"]

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(status__in=OPEN_CASE_STATUSES) if value == "open" else queryset.filter(status=value)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(owner_id=self.request.user.pk) if value and self.request else queryset
