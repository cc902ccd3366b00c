from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.org.models import Division, DivisionLevel


def territories_field() -> forms.ModelMultipleChoiceField:
    """Provinces and cities a user covers (what region scope filters on)."""
    return forms.ModelMultipleChoiceField(
        label=_("Territories"), required=False,
        queryset=Division.objects.filter(level__in=[DivisionLevel.PROVINCE, DivisionLevel.CITY]).select_related("parent"),
        help_text=_("Provinces or cities the user covers (reps and regional managers)."),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )


class TotpForm(forms.Form):
    token = forms.CharField(label=_("Code from your authenticator app"), max_length=6, min_length=6,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
