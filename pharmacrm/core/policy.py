"""Policy parameters: business thresholds declared in code, changed in the database.

Each parameter is declared once with its default, label and form field (the way
NetBox declares ``ConfigParam``). Admins schedule new values from a date; every
value is a ``PolicyValue`` row written through the audit trail, and code reads
the value in force on a day through ``get(key)``. STYLE.md "Settings and policy".
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core.audit import audited_create, to_jsonable
from pharmacrm.core.models import PolicyValue
from pharmacrm.org.scope import authorize

CHINA = ZoneInfo("Asia/Shanghai")
#: longest reason accepted; the audit trail keeps it verbatim
MAX_REASON_LENGTH = 2000

Validator = Callable[[Any], None]


def today() -> datetime.date:
    """Today in China: policy dates are company dates, whatever the server's zone."""
    return timezone.localdate(timezone=CHINA)


def _default_field(default: Any) -> forms.Field:
    # bool before int: bool is a subclass of int.
    if isinstance(default, bool):
        return forms.BooleanField(required=False)
    if isinstance(default, int):
        return forms.IntegerField()
    if isinstance(default, datetime.date):
        return forms.DateField()
    return forms.CharField(max_length=500)


@dataclass(frozen=True)
class Param:
    """One declared policy parameter: what it is called, its default and how input is checked."""

    key: str
    default: Any
    label: str | Promise
    help_text: str | Promise = ""
    #: builds the form field that cleans input; derived from the default's type when omitted
    field_factory: Callable[[], forms.Field] | None = None
    validators: Sequence[Validator] = field(default=())

    def form_field(self) -> forms.Field:
        """A fresh form field (fields are mutable, so never share one)."""
        form_field = self.field_factory() if self.field_factory else _default_field(self.default)
        form_field.label = self.label
        form_field.help_text = self.help_text
        form_field.validators = [*form_field.validators, *self.validators]
        return form_field

    def clean(self, raw: Any) -> Any:
        """Input → Python value, or a ValidationError in the user's language."""
        return self.form_field().clean(raw)

    def from_stored(self, stored: Any) -> Any:
        """JSON from the database → Python value (e.g. "1.5" → Decimal)."""
        return self.form_field().to_python(stored)


_registry: dict[str, Param] = {}


def register(param: Param) -> Param:
    """Add a parameter to the registry; a key may be declared only once."""
    if param.key in _registry and _registry[param.key] != param:
        raise ValueError(f"policy parameter {param.key!r} is already declared")
    _registry[param.key] = param
    return param


def declare(key: str, *, default: Any, label: str | Promise, help_text: str | Promise = "",
            field_factory: Callable[[], forms.Field] | None = None,
            validators: Iterable[Validator] = ()) -> Param:
    """Declare and register a parameter; returns it so modules can keep a handle."""
    return register(Param(key, default, label, help_text, field_factory, tuple(validators)))


def params() -> list[Param]:
    """Every declared parameter, in key order."""
    return [_registry[key] for key in sorted(_registry)]


def param(key: str) -> Param:
    """The declared parameter, or KeyError (a typo in code must fail loudly)."""
    try:
        return _registry[key]
    except KeyError:
        raise KeyError(f"undeclared policy parameter {key!r}") from None


def get(key: str, on: datetime.date | None = None) -> Any:
    """The value in force on ``on`` (default: today in China), else the declared default.

    The value in force is the one with the latest ``effective_from`` on or
    before that day; of two values from the same day the later-written wins.
    """
    declared = param(key)
    day = on or today()
    # Internal read of a company-wide rule: not filtered per user.
    stored = (
        PolicyValue.objects.filter(key=key, effective_from__lte=day)
        .order_by("-effective_from", "-id")
        .values_list("value", flat=True)
        .first()
    )
    return declared.default if stored is None else declared.from_stored(stored)


def clean_input(*, key: str, value: Any, effective_from: Any, reason: str) -> tuple[Param, Any, datetime.date, str]:
    """Check one change request; all problems at once, keyed by field."""
    if key not in _registry:
        raise ValidationError({"key": _("Unknown policy parameter.")})
    declared = _registry[key]
    errors: dict[str, list[Any]] = {}
    cleaned_value = cleaned_date = None
    try:
        cleaned_value = declared.clean(value)
    except ValidationError as exc:
        errors["value"] = exc.error_list
    try:
        cleaned_date = forms.DateField().clean(effective_from)
    except ValidationError as exc:
        errors["effective_from"] = exc.error_list
    else:
        # Values are never back-dated: what was in force on a past day must stay reproducible.
        if cleaned_date < today():
            errors["effective_from"] = [ValidationError(_("The date cannot be in the past."), code="past")]
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        errors["reason"] = [ValidationError(_("A reason is required for this change."), code="required")]
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = [ValidationError(
            _("Keep the reason under %(limit)d characters.") % {"limit": MAX_REASON_LENGTH}, code="max_length")]
    if errors:
        raise ValidationError(errors)
    assert cleaned_date is not None
    return declared, cleaned_value, cleaned_date, reason


def set_value(*, actor: Any, key: str, value: Any, effective_from: datetime.date | str,
              reason: str) -> PolicyValue:
    """Schedule a new value of a declared parameter from a date (today or later).

    STYLE.md "Settings and policy": admins only (core.change_policyvalue); input
    is checked by the parameter's own form field; the row and its audit entry
    are written together, and earlier values stay as history.
    """
    authorize(actor, "core.change_policyvalue")
    _declared, cleaned_value, cleaned_date, cleaned_reason = clean_input(
        key=key, value=value, effective_from=effective_from, reason=reason)
    return audited_create(PolicyValue, actor=actor, audit_reason=cleaned_reason, key=key,
                          value=to_jsonable(cleaned_value), effective_from=cleaned_date, reason=cleaned_reason,
                          changed_by=actor)


@dataclass
class ParamStatus:
    """What the settings page and the API show about one parameter."""

    param: Param
    current: Any
    upcoming: PolicyValue | None
    history: list[PolicyValue]

    @property
    def key(self) -> str:
        return self.param.key


def statuses(history_limit: int = 20) -> list[ParamStatus]:
    """Current value, next scheduled value and recent history of every parameter, in one query."""
    day = today()
    declared = params()
    by_key: dict[str, list[PolicyValue]] = {item.key: [] for item in declared}
    rows = (
        PolicyValue.objects.filter(key__in=list(by_key))
        .select_related("changed_by")
        .order_by("key", "-effective_from", "-id")
    )
    for row in rows:
        by_key[row.key].append(row)
    result = []
    for item in declared:
        values = by_key[item.key]
        in_force = next((row for row in values if row.effective_from <= day), None)
        upcoming = [row for row in values if row.effective_from > day]
        result.append(ParamStatus(
            param=item,
            current=item.default if in_force is None else item.from_stored(in_force.value),
            upcoming=upcoming[-1] if upcoming else None,  # the soonest: rows are newest date first
            history=values[:history_limit],
        ))
    return result


# --- parameters of the shared mechanisms ------------------------------------------------

NOTIFICATION_DIGEST_HOUR = declare(
    "notifications.digest_hour",
    default=8,
    label=gettext_lazy("Hour of the daily notification digest"),
    help_text=gettext_lazy("0–23, China time."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(0), MaxValueValidator(23)]),
)

UPLOAD_MAX_MEGABYTES = declare(
    "uploads.max_megabytes",
    default=10,
    label=gettext_lazy("Largest upload (MB)"),
    help_text=gettext_lazy("1–50 MB per file."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(50)]),
)
