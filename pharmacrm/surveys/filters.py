"""Filters of the survey lists, shared by the pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.surveys.models import SurveyInvitation, SurveyResponse

INVITATION_STATES = (("pending", _("Not answered")), ("answered", _("Answered")), ("skipped", _("Not asked")))


class InvitationFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(label=_("Status"), choices=INVITATION_STATES, method="by_state")
    source = django_filters.ChoiceFilter(label=_("Source"), method="by_source",
                                         choices=(("case", _("Closed cases")), ("campaign", _("Campaigns"))))
    campaign = django_filters.NumberFilter(label=_("Campaign"), field_name="campaign_id", widget=forms.HiddenInput)
    invitation = django_filters.NumberFilter(label=_("Invitation"), field_name="id", widget=forms.HiddenInput)

    class Meta:
        model = SurveyInvitation
        fields = ["state", "source", "campaign", "invitation"]

    def by_state(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value == "answered":
            return queryset.filter(used_at__isnull=False)
        if value == "skipped":
            return queryset.exclude(skip_reason="")
        return queryset.filter(used_at__isnull=True, skip_reason="")

    def by_source(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(case__isnull=value != "case")


class ResponseFilter(StyledFilterSet):
    low = django_filters.BooleanFilter(label=_("Opened a follow-up case"), field_name="follow_up_case",
                                       lookup_expr="isnull", exclude=True,
                                       widget=forms.Select(choices=(("", "—"), ("true", _("Yes")),
                                                                    ("false", _("No")))))
    campaign = django_filters.NumberFilter(label=_("Campaign"), field_name="campaign_id", widget=forms.HiddenInput)

    class Meta:
        model = SurveyResponse
        fields = ["low", "campaign"]
