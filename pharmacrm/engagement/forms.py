"""Input shapes of the engagement pages; the services decide and refuse (their errors land on these fields)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core import policy
from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.engagement.choices import VISIT_CHANNELS, Channel, Direction, Occasion, VisitKind
from pharmacrm.engagement.models import MAX_NOTE
from pharmacrm.engagement.services import AMENDABLE_FIELDS, Problem

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
NOTE = forms.Textarea(attrs={"rows": 3})
#: most problems one report raises at once
MAX_PROBLEMS = 10


class ContactChoices(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        detail = " · ".join(part for part in (obj.department, obj.get_title_display()) if part)
        return f"{obj.name}（{detail}）" if detail else obj.name


class VisitPlanForm(StyledFormMixin, forms.Form):
    planned_for = forms.DateTimeField(label=_("When"), widget=DATETIME)
    goal = forms.CharField(label=_("Goal"), max_length=300)
    contacts = ContactChoices(label=_("People to see"), queryset=None, required=False)
    content = forms.CharField(label=_("Content and materials"), widget=NOTE, max_length=MAX_NOTE, required=False,
                              help_text=_("What to present and what to bring, one item per line: it becomes the "
                                          "checklist on the visit page."))
    kind = forms.ChoiceField(label=_("Kind"), choices=VisitKind.choices, initial=VisitKind.ROUTINE)
    reason = forms.CharField(label=_("Why this visit"), max_length=300, required=False,
                             help_text=_("For a special visit: the event that called for it."))

    def __init__(self, *args: Any, contacts: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = contacts


class ReportForm(StyledFormMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", "—"), *VISIT_CHANNELS], required=False)
    contacts = ContactChoices(label=_("Contacts met"), queryset=None, required=False)
    products = forms.ModelMultipleChoiceField(label=_("Products discussed"), queryset=None, required=False,
                                              widget=forms.CheckboxSelectMultiple)
    key_messages = forms.CharField(label=_("Key messages"), widget=NOTE, max_length=MAX_NOTE, required=False)
    feedback = forms.CharField(label=_("Needs and feedback"), widget=NOTE, max_length=MAX_NOTE, required=False)
    objections = forms.CharField(label=_("Objections"), widget=NOTE, max_length=MAX_NOTE, required=False)
    competitors = forms.CharField(label=_("Competitor information"), widget=NOTE, max_length=MAX_NOTE,
                                  required=False)
    agreements = forms.CharField(label=_("Agreements"), widget=NOTE, max_length=MAX_NOTE, required=False)
    problems = forms.CharField(label=_("Problems raised"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                               max_length=3000,
                               help_text=_("One per line; each becomes a follow-up task for you when you submit."))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, contacts: QuerySet, products: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = contacts
        self.fields["products"].queryset = products
        self.fields["problems"].help_text = _(
            "One per line; each becomes a follow-up task for you when you submit, due in %(days)s days.") % {
            "days": policy.get("engagement.follow_up_days")}

    def clean_problems(self) -> list[Problem]:
        lines = [line.strip() for line in self.cleaned_data["problems"].splitlines() if line.strip()]
        if len(lines) > MAX_PROBLEMS:
            raise forms.ValidationError(_("At most %(n)d problems at once.") % {"n": MAX_PROBLEMS})
        if any(len(line) > 300 for line in lines):
            raise forms.ValidationError(_("Each problem at most 300 characters."))
        return [Problem(title=line) for line in lines]


class ReviewForm(StyledFormMixin, forms.Form):
    comment = forms.CharField(label=_("Your comment"), widget=NOTE, max_length=MAX_NOTE)


class AmendForm(StyledFormMixin, forms.Form):
    field = forms.ChoiceField(label=_("Field"), choices=())
    value = forms.CharField(label=_("Corrected text"), widget=NOTE, max_length=MAX_NOTE, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, labels: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(name, labels[name]) for name in AMENDABLE_FIELDS]
        self.fields["value"].help_text = _("For the channel, its code: %(codes)s.") % {
            "codes": ", ".join(value for value, _label in VISIT_CHANNELS)}


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class CommunicationForm(StyledFormMixin, forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE,
                                widget=forms.RadioSelect)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND,
                                  widget=forms.RadioSelect)
    contact = forms.ModelChoiceField(label=_("With"), queryset=None, required=False)
    occurred_at = forms.DateTimeField(label=_("When"), widget=DATETIME, required=False,
                                      help_text=_("Empty: now."))
    summary = forms.CharField(label=_("Summary"), widget=NOTE, max_length=MAX_NOTE)

    def __init__(self, *args: Any, contacts: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts


class FollowUpForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("Problem"), max_length=300)
    due_on = forms.DateField(label=_("Due"), widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["due_on"].initial = policy.today() + datetime.timedelta(
            days=int(policy.get("engagement.follow_up_days")))


class CloseForm(StyledFormMixin, forms.Form):
    outcome = forms.CharField(label=_("What was done"), widget=NOTE, max_length=MAX_NOTE)
    customer_informed = forms.BooleanField(label=_("The customer has been told the plan"), required=False)


class GreetingForm(StyledFormMixin, forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=None)
    channel = forms.ChoiceField(label=_("Channel"), choices=())

    def __init__(self, *args: Any, templates: QuerySet, channels: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.fields["channel"].choices = channels


class GreetingTemplateForm(StyledFormMixin, forms.Form):
    occasion = forms.ChoiceField(label=_("Occasion"), choices=Occasion.choices)
    title = forms.CharField(label=_("Title"), max_length=100)
    text = forms.CharField(label=_("Text"), widget=NOTE, max_length=500,
                           help_text=_("{name} is replaced by the contact's name. A message only: no offer of "
                                       "anything of value."))
