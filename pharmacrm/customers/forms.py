from __future__ import annotations

from django import forms

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.customers.models import Institution


class InstitutionForm(StyledFormMixin, forms.ModelForm):
    """Input shape only: the service validates and saves."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Institution
        fields = ["name", "short_name", "kind", "hospital_grade", "status", "address", "phone"]
