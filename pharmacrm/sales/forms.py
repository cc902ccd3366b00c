from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.core.money import YuanField
from pharmacrm.sales.choices import InvoiceKind
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


# --- orders ---------------------------------------------------------------------------------------------

#: ISO dates in <input type="date"> whatever the language (a localised value would show as empty)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrderForm(StyledFormMixin, forms.Form):
    distributor = forms.ModelChoiceField(label=_("Through distributor"), queryset=None, required=False)
    ordered_on = forms.DateField(label=_("Order date"), widget=DATE)
    requested_delivery_on = forms.DateField(label=_("Requested delivery"), required=False,
                                            widget=DATE)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, distributors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["distributor"].queryset = distributors


class OrderLineForm(StyledFormMixin, forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=None, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000_000, required=False)
    discount = YuanField(label=_("Discount (CNY)"), required=False)

    def __init__(self, *args: Any, products: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", _("Enter the quantity."))
        if data.get("quantity") and not data.get("product"):
            self.add_error("product", _("Choose the product."))
        return data


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=5, max_num=50, validate_max=True)


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ConfirmForm(StyledFormMixin, forms.Form):
    credit_override_reason = forms.CharField(
        label=_("Credit override reason"), max_length=300, required=False,
        help_text=_("Finance only: why this order may exceed the customer's credit limit."))


class ShipmentForm(StyledFormMixin, forms.Form):
    shipped_on = forms.DateField(label=_("Shipped on"), widget=DATE)
    carrier = forms.CharField(label=_("Carrier"), max_length=50)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=50, required=False)


class ShipmentLineForm(StyledFormMixin, forms.Form):
    order_line = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=10_000_000, required=False)
    batch_number = forms.CharField(label=_("Batch number"), max_length=40, required=False)
    expiry_date = forms.DateField(label=_("Expiry date"), required=False, widget=DATE)


ShipmentLineFormSet = forms.formset_factory(ShipmentLineForm, extra=0, max_num=500)


class ReceiptForm(StyledFormMixin, forms.Form):
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    received_by = forms.CharField(label=_("Received by"), max_length=50)


class InvoiceForm(StyledFormMixin, forms.Form):
    number = forms.CharField(label=_("Invoice number"), max_length=30)
    issued_on = forms.DateField(label=_("Issued on"), widget=DATE)
    amount = YuanField(label=_("Amount (CNY)"), minimum_fen=1)
    kind = forms.ChoiceField(label=_("Type"), choices=InvoiceKind.choices)
    shipments = forms.ModelMultipleChoiceField(label=_("Shipments"), queryset=None,
                                               widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, shipments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shipments"].queryset = shipments


class CreditLimitForm(StyledFormMixin, forms.Form):
    limit = YuanField(label=_("Credit limit (CNY)"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
