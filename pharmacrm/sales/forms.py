from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.core.money import YuanField
from pharmacrm.sales.models import Product


class ProductForm(StyledFormMixin, forms.ModelForm):
    """Prices are typed in yuan and kept in fen; the service normalises and validates the approval number."""

    list_price_fen = YuanField(label=_("List price (CNY)"))
    procurement_price_fen = YuanField(label=_("Procurement price (CNY)"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Product
        fields = ["code", "generic_name", "brand_name", "dosage_form", "strength", "pack", "approval_number",
                  "marketing_authorisation_holder", "therapeutic_area", "prescription_class", "reimbursement_class",
                  "category", "list_price_fen", "volume_based_procurement", "procurement_price_fen", "status"]

    def _post_clean(self) -> None:
        """Model validation (uniqueness, the approval number's form) is the service's: it normalises first."""

    def service_fields(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if key != "version"}
