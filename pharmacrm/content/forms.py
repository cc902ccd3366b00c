"""Input shapes of the content pages; the services decide and refuse (their errors land on these fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.content.choices import PUSH_CHANNELS, ContentKind
from pharmacrm.content.models import MAX_BODY, MAX_INTERPRETATION
from pharmacrm.content.services import class_choices
from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.grading.choices import StrategyDimension, class_label


def segment_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every segment as ``dimension:class``, grouped by dimension."""
    return [(str(label), [(f"{dimension}:{klass}", class_label(dimension, klass)) for klass in class_choices(dimension)])
            for dimension, label in StrategyDimension.choices]


class SegmentField(forms.ChoiceField):
    """One select for a segment; the cleaned value is ``(dimension, class)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=segment_choices, **kwargs)

    def clean(self, value: Any) -> tuple[str, str] | None:
        value = super().clean(value)
        if not value:
            return None
        dimension, _colon, klass = value.partition(":")
        return dimension, klass


class ContentItemForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContentKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    source = forms.CharField(label=_("Source or citation"), max_length=300, required=False,
                             help_text=_("Journal, authors, year; the policy document and its number. Required for "
                                         "literature."))
    source_url = forms.URLField(label=_("Source link"), max_length=500, required=False, assume_scheme="https")
    interpretation = forms.CharField(label=_("Short interpretation"), max_length=MAX_INTERPRETATION,
                                     widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text=_("What it means for the customer's practice, in a few sentences. No "
                                                 "overstated efficacy, nothing of value offered."))
    body = forms.CharField(label=_("Text"), max_length=MAX_BODY, required=False,
                           widget=forms.Textarea(attrs={"rows": 10}))
    attachment = forms.FileField(label=_("Attachment"), required=False,
                                 help_text=_("A PDF or an image. Replacing it needs approval again."))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ScheduleForm(StyledFormMixin, forms.Form):
    segment = SegmentField(label=_("Customers"))
    kind = forms.ChoiceField(label=_("Kind of item"), choices=ContentKind.choices)
    every_days = forms.IntegerField(label=_("Every (days)"), min_value=1, max_value=366)
    channel = forms.ChoiceField(label=_("Channel"), choices=PUSH_CHANNELS)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PushForm(StyledFormMixin, forms.Form):
    item = forms.ModelChoiceField(label=_("Item"), queryset=None)
    schedule = forms.ModelChoiceField(label=_("Schedule"), queryset=None, required=False,
                                      help_text=_("Push to a schedule's customers on its channel, or choose them "
                                                  "below."))
    segment = SegmentField(label=_("Customers"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", "—"), *PUSH_CHANNELS], required=False)

    def __init__(self, *args: Any, items: QuerySet, schedules: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
        self.fields["schedule"].queryset = schedules

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        schedule = data.get("schedule")
        if schedule is None and not data.get("segment") and "segment" not in self.errors:
            self.add_error("segment", _("Choose a schedule or the customers."))
        if schedule is None and not data.get("channel") and "channel" not in self.errors:
            self.add_error("channel", _("Choose a channel."))
        return data

    def push_arguments(self) -> dict[str, Any]:
        """The service's keyword arguments (the schedule fills what is left empty)."""
        data = self.cleaned_data
        dimension, klass = data.get("segment") or ("", "")
        return {"item": data["item"], "schedule": data.get("schedule"), "dimension": dimension, "klass": klass,
                "channel": data.get("channel") or ""}
