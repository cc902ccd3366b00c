"""Input shapes of the survey pages; the services decide and refuse (their errors land on these fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.grading.choices import class_label
from pharmacrm.surveys.choices import Audience, QuestionKind, SurveyChannel
from pharmacrm.surveys.services import audience_classes


def audience_choices() -> list[Any]:
    """Everyone, key accounts, or a class of a dimension as ``dimension:class``."""
    choices: list[Any] = [(Audience.ALL.value, Audience.ALL.label),
                          (Audience.KEY_ACCOUNTS.value, Audience.KEY_ACCOUNTS.label)]
    for audience, label in Audience.choices:
        if audience not in (Audience.ALL, Audience.KEY_ACCOUNTS):
            choices.append((str(label), [(f"{audience}:{klass}", class_label(audience, klass))
                                         for klass in audience_classes(audience)]))
    return choices


class QuestionSetForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    questions = forms.CharField(
        label=_("Questions"), max_length=6000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One a line, starting with its kind: “csat:” a satisfaction score 1–5, “nps:” a "
                    "recommendation score 0–10, “text:” a free answer. For example: csat: 您对我们的服务是否满意？"))
    for_cases = forms.BooleanField(label=_("Ask it after closed cases"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_questions(self) -> list[dict[str, str]]:
        parsed = []
        for number, line in enumerate(self.cleaned_data["questions"].splitlines(), start=1):
            if not line.strip():
                continue
            kind, colon, text = line.partition(":")
            kind = kind.strip().lower()
            if not colon or kind not in QuestionKind.values:
                raise ValidationError(_("Line %(number)d: start with csat:, nps: or text:.") % {"number": number})
            parsed.append({"kind": kind, "text": text.strip()})
        return parsed


class CampaignForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    question_set = forms.ModelChoiceField(label=_("Question set"), queryset=None)
    audience = forms.ChoiceField(label=_("Customers"), choices=audience_choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=SurveyChannel.choices,
                                help_text=_("Only contacts who consented to surveys on this channel are asked."))
    opens_on = forms.DateField(label=_("Opens on"), widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label=_("Closes on"), widget=forms.DateInput(attrs={"type": "date"}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, question_sets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["question_set"].queryset = question_sets

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        audience, _colon, klass = data.pop("audience").partition(":")
        return {**data, "audience": audience, "klass": klass}
