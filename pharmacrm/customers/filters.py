"""One FilterSet per list, shared by the UI and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.customers.choices import HospitalGrade, InstitutionKind, InstitutionStatus
from pharmacrm.customers.models import Contact, Institution


class InstitutionFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search", max_length=100)
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=InstitutionKind.choices)
    hospital_grade = django_filters.ChoiceFilter(label=_("Hospital grade"), choices=HospitalGrade.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=InstitutionStatus.choices)
    province = django_filters.CharFilter(label=_("Province code"), field_name="province_code", max_length=6)

    class Meta:
        model = Institution
        fields = ["q", "kind", "hospital_grade", "status", "province"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__startswith=value) | Q(short_name__startswith=value) | Q(name__contains=value))


class ContactFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search", max_length=50)
    institution = django_filters.NumberFilter(label=_("Institution"), field_name="institution_id")

    class Meta:
        model = Contact
        fields = ["q", "institution"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(name__startswith=value) if value else queryset
