"""Privacy policy parameters (``core.policy``: admins schedule new values, each change audited)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from pharmacrm.core import policy
from pharmacrm.privacy.models import ACCESS_LOG_MIN_DAYS

ACCESS_LOG_RETENTION_DAYS = policy.declare(
    "privacy.access_log_retention_days",
    default=365 * 3,
    label=_("Keep the personal-data access log (days)"),
    help_text=_("At least 180 days (the database refuses to delete younger entries); default three years, "
                "the period a PIPL compliance audit looks back on."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(ACCESS_LOG_MIN_DAYS),
                                                         MaxValueValidator(3650)]),
)

SUBJECT_REQUEST_DAYS = policy.declare(
    "privacy.subject_request_days",
    default=15,
    label=_("Answer data-subject requests within (days)"),
    help_text=_("1–30 days from receipt (GB/T 35273 §8.7: at most 30 days)."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)]),
)
#: the hard cap, whatever the policy says
SUBJECT_REQUEST_MAX_DAYS = 30

BULK_EXPORT_THRESHOLD = policy.declare(
    "privacy.bulk_export_threshold",
    default=200,
    label=_("Persons per export without approval"),
    help_text=_("An export of more persons needs the personal-information protection officer's approval."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(100000)]),
)

INACTIVE_CONTACT_YEARS = policy.declare(
    "privacy.inactive_contact_years",
    default=3,
    label=_("Anonymise contacts inactive for (years)"),
    help_text=_("Contacts without an active consent and without any visit, call, greeting, sample, case or "
                "edit for this long are anonymised by the nightly job; GxP cases are never touched."),
    field_factory=lambda: forms.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)]),
)
