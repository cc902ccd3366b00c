"""Input shapes of the service pages; the services decide and refuse (their errors land on these fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.forms import SigningFormMixin, StyledFormMixin
from pharmacrm.core.models import SignatureMeaning
from pharmacrm.service.choices import CaseChannel, CaseKind, PvKind, PvSeriousness, ReturnKind, RootCause, Severity
from pharmacrm.service.models import MAX_TEXT

TEXT = forms.Textarea(attrs={"rows": 4})


class CaseForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CaseKind.choices)
    title = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=TEXT, max_length=MAX_TEXT,
                                  help_text=_("What the customer reports, in their words. Patient details only as "
                                              "far as needed (sensitive personal data)."))
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=None, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=CaseChannel.choices, initial=CaseChannel.HOTLINE)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM)
    product = forms.ModelChoiceField(label=_("Product"), queryset=None, required=False)
    batch_number = forms.CharField(label=_("Batch number"), max_length=40, required=False)
    order = forms.ModelChoiceField(label=_("Order"), queryset=None, required=False)
    return_kind = forms.ChoiceField(label=_("Return, exchange or compensation"),
                                    choices=[("", "—"), *ReturnKind.choices], required=False)
    pv_kind = forms.ChoiceField(label=_("Possible adverse reaction or quality defect"),
                                choices=[("", _("No")), *PvKind.choices], required=False,
                                help_text=_("Flag it whenever in doubt: pharmacovigilance decides."))
    pv_seriousness = forms.ChoiceField(label=_("Seriousness"), choices=[("", "—"), *PvSeriousness.choices],
                                       required=False)
    evidence = forms.FileField(label=_("Evidence"), required=False,
                               help_text=_("A photo of the package or batch label, a PDF."))

    def __init__(self, *args: Any, contacts: QuerySet, products: QuerySet, orders: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts
        self.fields["product"].queryset = products
        self.fields["order"].queryset = orders


class NoteForm(StyledFormMixin, forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT)
    internal = forms.TypedChoiceField(label=_("Who reads it"), coerce=lambda value: value == "1", initial="1",
                                      choices=[("1", _("Internal note")), ("0", _("Reply given to the customer"))])
    attachment = forms.FileField(label=_("File"), required=False,
                                 help_text=_("Evidence or a report that came later: kept with the case."))


class VisitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.planned_for:%Y-%m-%d} · {obj.rep.get_full_name() or obj.rep.username} · {obj.goal}"


class MoveForm(StyledFormMixin, forms.Form):
    to = forms.CharField(widget=forms.HiddenInput)
    solution = forms.CharField(label=_("Solution"), widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_TEXT,
                               required=False)
    root_cause = forms.ChoiceField(label=_("Root cause"), choices=[("", "—"), *RootCause.choices], required=False)
    corrective_action = forms.CharField(label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 2}),
                                        max_length=MAX_TEXT, required=False)
    follow_up_visit = VisitChoice(label=_("Follow-up visit"), queryset=None, required=False)
    reason = forms.CharField(label=_("Why it is reopened"), max_length=500, required=False)

    def __init__(self, *args: Any, visits: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["follow_up_visit"].queryset = visits


class CaseSignForm(StyledFormMixin, SigningFormMixin):
    """签名关闭: the meaning of the signature and its components (``services.sign_case`` checks them)."""

    meaning = forms.ChoiceField(label=_("Meaning of the signature"), choices=SignatureMeaning.choices,
                                initial=SignatureMeaning.REVIEW)
    root_cause = forms.ChoiceField(label=_("Root cause"), choices=[("", "—"), *RootCause.choices], required=False)
    corrective_action = forms.CharField(label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 2}),
                                        max_length=MAX_TEXT, required=False)
    field_order = ["meaning", "root_cause", "corrective_action", "username", "password"]

    def __init__(self, *args: Any, closed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if closed:  # a closed case is signed as it stands
            del self.fields["root_cause"], self.fields["corrective_action"]


class ReassignForm(StyledFormMixin, forms.Form):
    owner = forms.ModelChoiceField(label=_("New owner"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, users: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users


class PvForm(StyledFormMixin, forms.Form):
    pv_kind = forms.ChoiceField(label=_("Flag"), choices=PvKind.choices)
    pv_seriousness = forms.ChoiceField(label=_("Seriousness"), choices=PvSeriousness.choices,
                                       initial=PvSeriousness.OTHER)
    pv_aware_on = forms.DateField(label=_("Aware since"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class PvReportForm(StyledFormMixin, forms.Form):
    reference = forms.CharField(label=_("Report reference"), max_length=60)


class RuleForm(StyledFormMixin, forms.Form):
    priority = forms.IntegerField(label=_("Priority"), min_value=0, max_value=100_000, initial=100,
                                  help_text=_("Lower runs first."))
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any")), *CaseKind.choices], required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=None, required=False, empty_label=_("Any"))
    province_code = forms.ChoiceField(label=_("Province"), required=False)
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, products: QuerySet, provinces: list[tuple[str, str]], users: QuerySet,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["province_code"].choices = [("", _("Any")), *provinces]
        self.fields["assignee"].queryset = users
