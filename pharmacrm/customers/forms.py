"""Input shapes for institutions, contacts, licences and the steward's decisions; services validate and save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import StyledFormMixin
from pharmacrm.customers.choices import ConsentChannel, ConsentPurpose, ProductCategory, PurchaseChannel
from pharmacrm.customers.models import Consent, Contact, Institution, Licence
from pharmacrm.org.models import Division, DivisionLevel
from pharmacrm.org.roles import Role

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LinesField(forms.CharField):
    """A list of strings typed one per line (or separated by 、 , ；)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        for separator in ("、", ",", "，", ";", "；"):
            text = text.replace(separator, "\n")
        return [line.strip() for line in text.splitlines() if line.strip()]


class InstitutionForm(StyledFormMixin, forms.ModelForm):
    """Create or edit an institution. Owner fields appear for those who may assign customers."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    aliases = LinesField(label=_("Former names"), required=False, max_length=2000,
                         help_text=_("Former or other names (曾用名), one per line."))
    parent_id = forms.IntegerField(label=_("Parent institution no."), required=False, min_value=1,
                                   help_text=_("Chain headquarters of a store, hospital of a department, group of a "
                                               "member hospital."))
    tags = LinesField(label=_("Tags"), required=False, max_length=500, widget=forms.TextInput,
                      help_text=_("Separated by commas."))
    purchase_channels = forms.MultipleChoiceField(label=_("Purchase channels"), choices=PurchaseChannel.choices,
                                                  required=False, widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Needed when you change the name, USCC, address, district, legal "
                                         "representative or business scope: the data steward reviews it."))
    uscc_override_reason = forms.CharField(label=_("USCC override reason (stewards)"), required=False,
                                           max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    uscc_override_scan = forms.FileField(label=_("Business licence scan for the override"), required=False)
    acknowledge_duplicates = forms.BooleanField(label=_("I checked the similar institutions: this is a different "
                                                        "customer"), required=False)

    class Meta:
        model = Institution
        fields = ["name", "short_name", "aliases", "code", "uscc", "kind", "hospital_grade", "status", "division",
                  "address", "phone", "legal_representative", "business_scope", "bed_count",
                  "annual_outpatient_visits", "source_channel", "first_cooperation_date", "owner", "academic_owner",
                  "categories_needed", "purchase_frequency", "purchase_channels", "product_awareness",
                  "decision_process", "annual_budget", "annual_category_purchases"]
        widgets = {"first_cooperation_date": DATE, "business_scope": forms.Textarea(attrs={"rows": 2}),
                   "decision_process": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, user: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division"].queryset = Division.objects.filter(level=DivisionLevel.DISTRICT).select_related(
            "parent__parent")
        self.fields["division"].label_from_instance = lambda division: f"{division.code} {division.full_name}"
        users = get_user_model().objects.filter(is_active=True)
        self.fields["owner"].queryset = users.filter(role__in=[Role.REP, Role.MANAGER, Role.REGIONAL_MANAGER])
        self.fields["academic_owner"].queryset = users.filter(role=Role.ACADEMIC_REP)
        may_assign = user.has_perm("customers.steward_institution") or user.role in (Role.MANAGER,
                                                                                     Role.REGIONAL_MANAGER)
        if not may_assign:
            del self.fields["owner"], self.fields["academic_owner"]
        elif creating and "owner" in self.fields:
            self.fields["owner"].required = user.role not in (Role.MANAGER, Role.REGIONAL_MANAGER)
        if not user.has_perm("customers.steward_institution"):
            del self.fields["uscc_override_reason"], self.fields["uscc_override_scan"]
        if creating:
            del self.fields["reason"]
        else:
            del self.fields["acknowledge_duplicates"]
            if self.instance.pk:
                self.initial.setdefault("parent_id", self.instance.parent_id)
                self.initial.setdefault("tags", list(self.instance.tags.values_list("name", flat=True)))

    def service_fields(self) -> dict[str, Any]:
        """cleaned_data in the shape services take: the parent as an instance, form-only keys removed."""
        data = dict(self.cleaned_data)
        for key in ("version", "reason", "uscc_override_reason", "uscc_override_scan", "acknowledge_duplicates",
                    "tags", "parent_id"):
            data.pop(key, None)
        parent_id = self.cleaned_data.get("parent_id")
        data["parent"] = Institution.objects.filter(pk=parent_id).first() if parent_id else None
        return data

    def clean_parent_id(self) -> int | None:
        parent_id = self.cleaned_data.get("parent_id")
        if parent_id and not Institution.objects.filter(pk=parent_id).exists():
            raise forms.ValidationError(_("There is no institution no. %(id)s.") % {"id": parent_id})
        return parent_id

    def _post_clean(self) -> None:
        """The parent is chosen by number; the model's own checks run in the service."""
        parent_id = self.cleaned_data.get("parent_id")
        self.instance.parent_id = parent_id
        super()._post_clean()


class ContactForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    sensitive_consent = forms.CharField(
        label=_("Consent to the resident ID"), max_length=300, required=False,
        help_text=_("A resident ID needs the person's separate consent: where is it (signed form no.…)?"))

    class Meta:
        model = Contact
        fields = ["name", "gender", "department", "title", "specialty", "decision_role", "influence_level",
                  "is_key_contact", "mobile", "office_phone", "email", "wechat_id", "birthday", "birthday_calendar",
                  "id_number", "notes"]
        widgets = {"birthday": DATE, "notes": forms.Textarea(attrs={"rows": 3})}


class LicenceForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    categories = forms.MultipleChoiceField(label=_("Drug categories covered"), choices=ProductCategory.choices,
                                           required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text=_("For a drug trading licence: the categories in its scope."))
    scan_file = forms.FileField(label=_("Scan (JPEG, PNG, PDF)"), required=False)

    class Meta:
        model = Licence
        fields = ["kind", "number", "issuer", "scope", "categories", "purchaser_name", "valid_from", "valid_to",
                  "next_verification_on"]
        widgets = {"valid_from": DATE, "valid_to": DATE, "next_verification_on": DATE,
                   "scope": forms.Textarea(attrs={"rows": 2})}


class ReviewForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))],
                                 widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=300,
                              widget=forms.Textarea(attrs={"rows": 2}))


class ConsentForm(StyledFormMixin, forms.ModelForm):
    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)

    class Meta:
        model = Consent
        fields = ["channel", "purpose", "granted_on", "scope", "evidence"]
        widgets = {"granted_on": DATE}


class WithdrawForm(StyledFormMixin, forms.Form):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DATE)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class MergeForm(StyledFormMixin, forms.Form):
    survivor_id = forms.IntegerField(label=_("Keep institution no."), min_value=1,
                                     help_text=_("The record that stays; this one is merged into it."))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
