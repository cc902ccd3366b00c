"""Filters of the DPO's lists (shared by the pages and the API)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.privacy.models import AccessPurpose, PersonalDataAccess, RequestKind, RequestStatus, SubjectRequest


class AccessFilter(StyledFilterSet):
    person = django_filters.NumberFilter(method="about_person", label=_("Person (contact no.)"), min_value=1)
    viewer = django_filters.CharFilter(field_name="viewer_username", lookup_expr="iexact", label=_("Username"),
                                       max_length=150)
    purpose = django_filters.ChoiceFilter(choices=AccessPurpose.choices, label=_("Purpose"))
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label=_("From"))
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label=_("Until"))

    class Meta:
        model = PersonalDataAccess
        fields: list[str] = []

    def about_person(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.about(value) if value else queryset


class SubjectRequestFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(choices=RequestKind.choices, label=_("Kind"))
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, label=_("Status"))
    person = django_filters.NumberFilter(field_name="contact_id", label=_("Person (contact no.)"), min_value=1)

    class Meta:
        model = SubjectRequest
        fields: list[str] = []
