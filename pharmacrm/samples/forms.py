"""Input shapes of the sample pages; the services decide and refuse (their errors land on these fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.samples.models import SampleLot, StockBalance
from pharmacrm.samples.services import MAX_QUANTITY, MAX_SIGNATURE_BYTES

#: ISO dates in <input type="date"> whatever the language
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def holders(exclude: Any = None) -> QuerySet:
    """People who hold samples: active reps and academic reps."""
    people = User.objects.filter(role__in=[Role.REP, Role.ACADEMIC_REP], is_active=True).order_by("username")
    return people.exclude(pk=exclude.pk) if exclude is not None else people


def lots_held_by(user: Any) -> QuerySet:
    held = StockBalance.objects.filter(holder=user, quantity__gt=0).values("lot_id")
    return SampleLot.objects.filter(pk__in=held).select_related("product").order_by("expiry_date", "id")


class HolderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.username}（{obj.get_role_display()}）"


class LotForm(StyledFormMixin, forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=None)
    batch_number = forms.CharField(label=_("Batch number"), max_length=40)
    expiry_date = forms.DateField(label=_("Expiry date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args: Any, products: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products


class LotEditForm(StyledFormMixin, forms.Form):
    batch_number = forms.CharField(label=_("Batch number"), max_length=40)
    expiry_date = forms.DateField(label=_("Expiry date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class QuantityMixin(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)


class ReceiptForm(StyledFormMixin, QuantityMixin):
    """Head office sends a lot to a rep."""

    lot = forms.ModelChoiceField(label=_("Lot"), queryset=None)
    to_holder = HolderChoiceField(label=_("To"), queryset=None)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    field_order = ["lot", "to_holder", "quantity", "note"]

    def __init__(self, *args: Any, lots: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots
        self.fields["to_holder"].queryset = holders()


class TransferForm(StyledFormMixin, QuantityMixin):
    """A rep passes some of their samples to a colleague."""

    lot = forms.ModelChoiceField(label=_("Lot"), queryset=None)
    to_holder = HolderChoiceField(label=_("To"), queryset=None)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    field_order = ["lot", "to_holder", "quantity", "note"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots_held_by(user)
        self.fields["to_holder"].queryset = holders(exclude=user)


class ReturnForm(StyledFormMixin, QuantityMixin):
    lot = forms.ModelChoiceField(label=_("Lot"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    field_order = ["lot", "quantity", "reason"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots_held_by(user)


class AdjustmentForm(StyledFormMixin, forms.Form):
    """A rep writes their own stock down; head office picks the rep and may add stock."""

    holder = HolderChoiceField(label=_("Rep"), queryset=None)
    lot = forms.ModelChoiceField(label=_("Lot"), queryset=None)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY,
                                  help_text=_("Negative to write stock off, positive to add it."))
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             error_messages={"required": _("A reason is required for an adjustment.")})

    def __init__(self, *args: Any, user: Any, head_office: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if head_office:
            self.fields["holder"].queryset = holders()
            self.fields["lot"].queryset = SampleLot.objects.visible_to(user).select_related("product")
        else:
            del self.fields["holder"]
            self.fields["lot"].queryset = lots_held_by(user)

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError(_("Enter a whole number other than 0."))
        return quantity


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        extra = " · ".join(part for part in (obj.department, obj.get_title_display()) if part)
        return f"{obj.name}（{extra}）" if extra else obj.name


class DisbursementForm(StyledFormMixin, QuantityMixin):
    contact = ContactChoiceField(label=_("Recipient"), queryset=None)
    lot = forms.ModelChoiceField(label=_("Lot"), queryset=None)
    place = forms.CharField(label=_("Place"), max_length=200, help_text=_("e.g. the department's office"))
    disbursed_at = forms.DateTimeField(label=_("Time"), required=False, widget=DATETIME,
                                       help_text=_("Leave empty for now."))
    notes = forms.CharField(label=_("Notes"), max_length=300, required=False)
    #: the canvas's PNG as a data: URL, filled in by samples/signature.js; checked by the service
    signature = forms.CharField(required=False, widget=forms.HiddenInput,
                                max_length=MAX_SIGNATURE_BYTES * 2)
    field_order = ["contact", "lot", "quantity", "place", "disbursed_at", "notes", "signature"]

    def __init__(self, *args: Any, contacts: QuerySet, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts
        self.fields["lot"].queryset = lots_held_by(user)


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ReconciliationForm(StyledFormMixin, forms.Form):
    counted_on = forms.DateField(label=_("Counted on"), widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class CountForm(StyledFormMixin, forms.Form):
    """One lot of the count; ``expected`` (from the ledger) comes in as initial data, never from the browser."""

    lot = forms.IntegerField(widget=forms.HiddenInput)
    counted = forms.IntegerField(label=_("Counted"), min_value=0, max_value=MAX_QUANTITY)
    reason = forms.CharField(label=_("Reason for the difference"), max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        expected = self.initial.get("expected")
        if data.get("counted") is not None and expected is not None and data["counted"] != expected \
                and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Counted %(counted)s, expected %(expected)s: give a reason for the "
                                       "difference.") % {"counted": data["counted"], "expected": expected})
        return data


CountFormSet = forms.formset_factory(CountForm, extra=0, max_num=1000)
