from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.privacy.models import RequestKind
from pharmacrm.privacy.services import CORRECTABLE

DATE = forms.DateInput(attrs={"type": "date"})


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RequestKind.choices)
    contact = forms.IntegerField(label=_("Person (contact no.)"), min_value=1)
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    channel = forms.CharField(label=_("Received through"), max_length=100, required=False)
    details = forms.CharField(label=_("What was asked"), max_length=5000, required=False, widget=forms.Textarea(
        attrs={"rows": 3}))
    correction_field = forms.ChoiceField(label=_("Field to correct"), required=False,
                                         choices=[("", "—"), *[(name, name) for name in CORRECTABLE]])
    correction_value = forms.CharField(label=_("Correct value"), max_length=300, required=False)


class CompleteForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=5000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    refuse = forms.BooleanField(label=_("Refuse the request"), required=False)


class ExportRequestForm(forms.Form):
    list = forms.CharField(widget=forms.HiddenInput, max_length=64)
    query = forms.CharField(widget=forms.HiddenInput, max_length=1000, required=False)
    count = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    purpose = forms.CharField(label=_("What is the list for?"), max_length=300)
