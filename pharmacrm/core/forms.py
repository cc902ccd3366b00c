"""Form helpers: Bootstrap classes on every widget, invalid state on fields with errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from pharmacrm.core.audit import StaleVersion


class StyledFormMixin:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, (forms.HiddenInput, forms.CheckboxInput)):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            if self.is_bound and name in self.errors:  # type: ignore[attr-defined]
                css += " is-invalid"
            widget.attrs["class"] = css


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
            # StyledFormMixin marked fields when the form was built; these errors came later.
            widget = form.fields[field].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
        else:
            form.add_error(None, errors)
