"""Product list filters, shared by the page and the API (``?search=`` there is ``q`` here)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.customers.choices import ProductCategory
from pharmacrm.sales.choices import (
    MappingKind,
    MappingStatus,
    OrderStatus,
    PrescriptionClass,
    ProductStatus,
    ReimbursementClass,
    TherapeuticArea,
)
from pharmacrm.sales.models import FlowMapping, Order, Product


class ProductFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search_text", max_length=100,
                                  help_text=_("Generic or brand name, code, approval number"))
    therapeutic_area = django_filters.ChoiceFilter(label=_("Therapeutic area"), choices=TherapeuticArea.choices)
    category = django_filters.ChoiceFilter(label=_("Licence category"), choices=ProductCategory.choices)
    prescription_class = django_filters.ChoiceFilter(label=_("Prescription class"), choices=PrescriptionClass.choices)
    reimbursement_class = django_filters.ChoiceFilter(label=_("Reimbursement"), choices=ReimbursementClass.choices)
    vbp = django_filters.BooleanFilter(label=_("Volume-based procurement"), field_name="volume_based_procurement",
                                       widget=forms.Select(choices=[("", "---------"), ("true", _("Yes")),
                                                                    ("false", _("No"))]))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ProductStatus.choices)

    class Meta:
        model = Product
        fields = ["q", "therapeutic_area", "category", "prescription_class", "reimbursement_class", "vbp", "status"]

    def search_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The catalogue is hundreds of rows, not millions: a plain contains over the names and numbers."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(generic_name__icontains=value) | Q(brand_name__icontains=value)
                               | Q(code__icontains=value) | Q(approval_number__icontains=value.upper()))


class OrderFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OrderStatus.choices)
    institution = django_filters.NumberFilter(label=_("Institution"), field_name="institution_id",
                                              widget=django_filters.widgets.forms.HiddenInput)
    ordered_from = django_filters.DateFilter(label=_("Ordered from"), field_name="ordered_on", lookup_expr="gte",
                                             widget=forms.DateInput(attrs={"type": "date"}))
    ordered_to = django_filters.DateFilter(label=_("Ordered until"), field_name="ordered_on", lookup_expr="lte",
                                           widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Order
        fields = ["status", "institution", "ordered_from", "ordered_to"]


class FlowMappingFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=MappingStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=MappingKind.choices)
    q = django_filters.CharFilter(label=_("Search"), method="search_name", max_length=100)

    class Meta:
        model = FlowMapping
        fields = ["status", "kind", "q"]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # the queue page opens on what still waits; the API passes its query (never None) and lists all
        super().__init__(data if data is not None else {"status": MappingStatus.OPEN}, *args, **kwargs)

    def search_name(self, queryset: Any, name: str, value: str) -> Any:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(city__icontains=value)) if value else queryset
