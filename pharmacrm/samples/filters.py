"""Filters of the sample lists (pages; the API lists are narrow enough without)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.samples.choices import MovementKind, ReconciliationStatus, TransferKind, TransferStatus
from pharmacrm.samples.models import Disbursement, Reconciliation, StockMovement, StockTransfer

DATE = forms.DateInput(attrs={"type": "date"})


class ReconciliationFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ReconciliationStatus.choices)

    class Meta:
        model = Reconciliation
        fields = ["status"]


class TransferFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=TransferKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=TransferStatus.choices)

    class Meta:
        model = StockTransfer
        fields = ["kind", "status"]


class MovementFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=MovementKind.choices)

    class Meta:
        model = StockMovement
        fields = ["kind"]


class DisbursementFilter(StyledFilterSet):
    institution = django_filters.NumberFilter(label=_("Institution"), field_name="institution_id",
                                              widget=forms.HiddenInput)
    contact = django_filters.NumberFilter(label=_("Recipient"), field_name="contact_id", widget=forms.HiddenInput)
    disbursed_from = django_filters.DateFilter(label=_("From"), field_name="disbursed_at", lookup_expr="date__gte",
                                               widget=DATE)
    disbursed_to = django_filters.DateFilter(label=_("Until"), field_name="disbursed_at", lookup_expr="date__lte",
                                             widget=DATE)

    class Meta:
        model = Disbursement
        fields = ["institution", "contact", "disbursed_from", "disbursed_to"]
