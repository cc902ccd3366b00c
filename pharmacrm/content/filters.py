"""Filters of the content lists, shared by the deliveries page and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.content.choices import PUSH_CHANNELS, ContentKind
from pharmacrm.content.models import ContentDelivery
from pharmacrm.core.filters import StyledFilterSet


class DeliveryFilter(StyledFilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), field_name="item__kind", choices=ContentKind.choices)
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=PUSH_CHANNELS)
    item = django_filters.NumberFilter(label=_("Item"), field_name="item_id", widget=forms.HiddenInput)
    push = django_filters.NumberFilter(label=_("Push"), field_name="push_id", widget=forms.HiddenInput)
    institution = django_filters.NumberFilter(label=_("Customer"), field_name="institution_id",
                                              widget=forms.HiddenInput)
    contact = django_filters.NumberFilter(label=_("Contact"), field_name="contact_id", widget=forms.HiddenInput)

    class Meta:
        model = ContentDelivery
        fields = ["kind", "channel", "item", "push", "institution", "contact"]
