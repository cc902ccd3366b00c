"""One FilterSet per list, shared by the UI and the API (``?search=`` in the API is ``q`` here)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.customers import search
from pharmacrm.customers.choices import (
    HospitalGrade,
    InstitutionKind,
    InstitutionStatus,
    LicenceKind,
    QualificationStatus,
    ReviewStatus,
)
from pharmacrm.customers.models import ChangeRequest, Contact, Institution, Licence, Tag
from pharmacrm.grading.choices import DepthClass, Grade, SizeClass, TenureClass
from pharmacrm.org.models import Division, DivisionLevel
from pharmacrm.org.roles import Role


def _owners(request: object) -> QuerySet:
    return get_user_model().objects.filter(role__in=[Role.REP, Role.ACADEMIC_REP, Role.MANAGER,
                                                     Role.REGIONAL_MANAGER]).order_by("username")


def _regions(request: object) -> QuerySet:
    # the parent names a placeholder city (上海市市辖区): one join instead of a query per option
    return Division.objects.filter(level__in=[DivisionLevel.PROVINCE, DivisionLevel.CITY]).select_related(
        "parent").order_by("code")


# A national company has thousands of field users and hundreds of cities. Django builds a model
# instance, an option dict and a template render per <option>: the owner list alone cost more than
# the rest of the list page (and its garbage triggered full collections). These two write options
# straight from database rows and strings: the same markup as forms.Select, the same validation.

def _html(value: Any) -> str:
    """``conditional_escape`` without its per-call lazy-string machinery (it dominated a long list)."""
    return str(value) if isinstance(value, SafeData) else html.escape(str(value))


class PlainSelect(forms.Select):
    """A ``<select>`` of flat choices written in Python rather than through a template per option."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{_html(choice)}"{" selected" if str(choice) in chosen else ""}>{_html(label)}</option>'
            for choice, label in self.choices)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)),
                           mark_safe(options))  # noqa: S308  (every value and label escaped above)


class _UserChoices(ModelChoiceIterator):
    """Options from (id, full name, username) rows, labelled as ``User.__str__`` does: no instance per user."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, full_name, username in self.queryset.values_list("pk", "full_name", "username"):
            yield (pk, full_name or username)


class _UserChoiceField(ModelChoiceField):
    iterator = _UserChoices


class UserChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = _UserChoiceField


class InstitutionFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search_text", max_length=100,
                                  help_text=_("Name, short or former name, pinyin or initials, USCC, phone"))
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=InstitutionKind.choices)
    hospital_grade = django_filters.ChoiceFilter(label=_("Hospital grade"), choices=HospitalGrade.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=InstitutionStatus.choices)
    qualification = django_filters.ChoiceFilter(label=_("Qualification"), field_name="qualification_status",
                                                choices=QualificationStatus.choices)
    review = django_filters.ChoiceFilter(label=_("Review"), field_name="review_status", choices=ReviewStatus.choices)
    region = django_filters.ModelChoiceFilter(label=_("Region"), queryset=_regions, method="in_region",
                                              widget=PlainSelect)
    owner = UserChoiceFilter(label=_("Owner rep"), queryset=_owners, method="owned_by", widget=PlainSelect)
    tag = django_filters.ModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.all(), field_name="tags")
    province = django_filters.CharFilter(label=_("Province code"), field_name="province_code", max_length=6,
                                         widget=django_filters.widgets.forms.HiddenInput)
    # the classes of the last grading run (grading module)
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices, method="in_class")
    size = django_filters.ChoiceFilter(label=_("Size"), choices=SizeClass.choices, method="in_class")
    depth = django_filters.ChoiceFilter(label=_("Cooperation depth"), choices=DepthClass.choices, method="in_class")
    tenure = django_filters.ChoiceFilter(label=_("Tenure"), choices=TenureClass.choices, method="in_class")

    class Meta:
        model = Institution
        fields = ["q", "kind", "hospital_grade", "status", "qualification", "review", "region", "owner", "tag",
                  "province", "grade", "size", "depth", "tenure"]

    def in_class(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from pharmacrm.grading.models import Classification  # grading builds on customers

        return queryset.filter(pk__in=Classification.objects.filter(**{name: value}).values("institution_id"))

    def search_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search.search_institutions(queryset, value, getattr(self.request, "user", None))

    def in_region(self, queryset: QuerySet, name: str, value: Division) -> QuerySet:
        if value.level == DivisionLevel.PROVINCE:
            return queryset.filter(province_code=value.code)
        return queryset.filter(city_code=value.code)

    def owned_by(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        return queryset.filter(owner=value) | queryset.filter(academic_owner=value)


class ContactFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search_text", max_length=50,
                                  help_text=_("Name, pinyin or initials, mobile"))
    institution = django_filters.NumberFilter(label=_("Institution"), field_name="institution_id",
                                              widget=django_filters.widgets.forms.HiddenInput)
    key = django_filters.BooleanFilter(label=_("Key contacts only"), field_name="is_key_contact",
                                       widget=django_filters.widgets.BooleanWidget)

    class Meta:
        model = Contact
        fields = ["q", "institution", "key"]

    def search_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search.search_contacts(queryset, value, getattr(self.request, "user", None))


class LicenceFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=LicenceKind.choices)
    review = django_filters.ChoiceFilter(label=_("Review"), field_name="review_status", choices=ReviewStatus.choices)
    ends_before = django_filters.DateFilter(label=_("Valid until on or before"), field_name="valid_to",
                                            lookup_expr="lte",
                                            widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}))
    institution = django_filters.NumberFilter(label=_("Institution"), field_name="institution_id",
                                              widget=django_filters.widgets.forms.HiddenInput)

    class Meta:
        model = Licence
        fields = ["kind", "review", "ends_before", "institution"]


class ChangeRequestFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ReviewStatus.choices)
    overdue = django_filters.BooleanFilter(label=_("Overdue only"), method="only_overdue",
                                           widget=django_filters.widgets.BooleanWidget)

    class Meta:
        model = ChangeRequest
        fields = ["status", "overdue"]

    def only_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        from pharmacrm.core import policy

        return queryset.overdue(policy.today()) if value else queryset
