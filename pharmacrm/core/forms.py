"""Form helpers: Bootstrap classes on every widget, invalid state on fields with errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.audit import StaleVersion


class StyledFormMixin:
    """Bootstrap classes on every widget; fields with errors are marked after validation (not in
    ``__init__``, so subclasses can still add or remove fields before the form is cleaned)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, (forms.HiddenInput, forms.CheckboxInput, forms.CheckboxSelectMultiple,
                                   forms.RadioSelect)):
                continue
            widget.attrs["class"] = "form-select" if isinstance(widget, forms.Select) else "form-control"

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:  # type: ignore[attr-defined]
                mark_invalid(self.fields[name])  # type: ignore[attr-defined]


def mark_invalid(field: forms.Field) -> None:
    css = field.widget.attrs.get("class", "")
    if "is-invalid" not in css.split():
        field.widget.attrs["class"] = f"{css} is-invalid".strip()


def add_service_errors(form: forms.Form, error: ValidationError | StaleVersion) -> None:
    """Show a service's refusal on the form: under its field when the form has it, else above the form
    (a stale version — someone else saved first — always goes above the form)."""
    if isinstance(error, StaleVersion):
        form.add_error(None, str(error))
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
            mark_invalid(form.fields[field])  # these errors came after the form's own validation
        else:
            form.add_error(None, errors)


class SigningFormMixin(forms.Form):
    """The signature components of an electronic signature (21 CFR 11.200(a)(1)): the password always, the
    username too at the first signing of a session. Build with ``needs_username`` from
    ``core.signatures.needs_username(request)``; ``core.signatures`` checks them."""

    username = forms.CharField(label=_("Your username"), required=False, max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username"}),
                               help_text=_("The first signature after signing in asks for your username too."))
    password = forms.CharField(label=_("Your password"), required=False, strip=False, max_length=128,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               help_text=_("Re-enter your password to sign."))

    def __init__(self, *args: Any, needs_username: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not needs_username:
            del self.fields["username"]

    def components(self) -> dict[str, Any]:
        return {"username": self.cleaned_data.get("username") or None, "password": self.cleaned_data["password"]}
