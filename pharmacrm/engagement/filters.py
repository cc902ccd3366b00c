"""Filters of the engagement lists (pages)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.engagement.choices import Channel, TaskStatus, VisitKind, VisitStatus
from pharmacrm.engagement.models import Communication, FollowUp, Visit

DATE = forms.DateInput(attrs={"type": "date"})


class VisitFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=VisitStatus.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=VisitKind.choices)
    planned_from = django_filters.DateFilter(label=_("From"), field_name="planned_for", lookup_expr="date__gte",
                                             widget=DATE)
    planned_to = django_filters.DateFilter(label=_("To"), field_name="planned_for", lookup_expr="date__lte",
                                           widget=DATE)
    institution = django_filters.NumberFilter(label=_("Customer"), field_name="institution_id",
                                              widget=forms.HiddenInput)

    class Meta:
        model = Visit
        fields = ["status", "kind", "planned_from", "planned_to", "institution"]


class CommunicationFilter(StyledFilterSet):
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    institution = django_filters.NumberFilter(label=_("Customer"), field_name="institution_id",
                                              widget=forms.HiddenInput)

    class Meta:
        model = Communication
        fields = ["channel", "institution"]


class FollowUpFilter(StyledFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=TaskStatus.choices)
    institution = django_filters.NumberFilter(label=_("Customer"), field_name="institution_id",
                                              widget=forms.HiddenInput)

    class Meta:
        model = FollowUp
        fields = ["status", "institution"]
