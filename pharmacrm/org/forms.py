from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TotpForm(forms.Form):
    token = forms.CharField(label=_("Code from your authenticator app"), max_length=6, min_length=6,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
