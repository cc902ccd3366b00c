"""GSP buyer qualification (首营资料, DOMAIN.md 2.3): licences, the status they give an
institution, ``is_qualified_for`` (called before an order is confirmed) and the
daily expiry alerts.

Which licences a buyer needs depends on its type and is a policy parameter. The
status is derived, worst first: 缺失 (a required licence is missing), 已过期,
待审核 (only an unreviewed one exists), 即将到期 (within the largest warning
window), 合格. It is stored on the institution for lists and badges and
recomputed whenever a licence changes and by the daily job.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_create, audited_update
from pharmacrm.core.notifications import notify
from pharmacrm.customers.choices import (
    InstitutionKind,
    LicenceKind,
    ProductCategory,
    QualificationStatus,
    ReviewStatus,
)
from pharmacrm.customers.models import Institution, Licence
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize

K, L = InstitutionKind, LicenceKind
_HOSPITAL_SET = [L.MEDICAL_INSTITUTION]
DEFAULT_REQUIRED_LICENCES: dict[str, list[str]] = {
    K.PUBLIC_HOSPITAL: _HOSPITAL_SET,
    K.PRIVATE_HOSPITAL: [L.BUSINESS, L.MEDICAL_INSTITUTION],
    K.COMMUNITY_CENTER: _HOSPITAL_SET,
    K.TOWNSHIP_HOSPITAL: _HOSPITAL_SET,
    K.VILLAGE_CLINIC: _HOSPITAL_SET,
    K.CLINIC: _HOSPITAL_SET,
    K.CHAIN_HQ: [L.BUSINESS, L.DRUG_TRADING, L.QUALITY_AGREEMENT],
    K.CHAIN_STORE: [L.BUSINESS, L.DRUG_TRADING],
    K.PHARMACY: [L.BUSINESS, L.DRUG_TRADING],
    K.DISTRIBUTOR: [L.BUSINESS, L.DRUG_TRADING, L.QUALITY_AGREEMENT, L.PURCHASE_AUTHORIZATION],
    K.HOSPITAL_GROUP: [],
    K.DEPARTMENT: [],
    K.OTHER: [L.BUSINESS],
}
#: licences whose scope (经营范围) limits the drug categories a buyer may receive
SCOPED_LICENCE_KINDS = (L.DRUG_TRADING,)


def _validate_required(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError(gettext_lazy("Enter an object: institution type → list of licence types."))
    for kind, licences in value.items():
        if kind not in InstitutionKind.values:
            raise ValidationError(gettext_lazy("Unknown institution type: %(kind)s"), params={"kind": kind})
        if not isinstance(licences, list) or any(code not in LicenceKind.values for code in licences):
            raise ValidationError(gettext_lazy("Unknown licence type for %(kind)s."), params={"kind": kind})


def _validate_days(value: Any) -> None:
    if (not isinstance(value, list) or not value
            or any(not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 365 for day in value)):
        raise ValidationError(gettext_lazy("Enter a list of whole days between 1 and 365, e.g. [90, 60, 30]."))


REQUIRED_LICENCES = policy.declare(
    "customers.required_licences",
    default=DEFAULT_REQUIRED_LICENCES,
    label=gettext_lazy("Licences required per institution type"),
    help_text=gettext_lazy("JSON: institution type → licence types a buyer of that type must hold (GSP 首营资料)."),
    field_factory=forms.JSONField,
    validators=[_validate_required],
)
WARNING_DAYS = policy.declare(
    "customers.licence_warning_days",
    default=[90, 60, 30],
    label=gettext_lazy("Licence expiry alerts (days before)"),
    help_text=gettext_lazy("JSON list, e.g. [90, 60, 30]; a licence within the largest is 'expiring'."),
    field_factory=forms.JSONField,
    validators=[_validate_days],
)


def required_kinds(institution_kind: str, on: datetime.date | None = None) -> list[str]:
    return list(policy.get(REQUIRED_LICENCES.key, on).get(institution_kind, DEFAULT_REQUIRED_LICENCES.get(
        institution_kind, [])))


def warning_days(on: datetime.date | None = None) -> list[int]:
    return sorted({int(day) for day in policy.get(WARNING_DAYS.key, on)}, reverse=True)


# --- status ------------------------------------------------------------------------------------

_SEVERITY = [QualificationStatus.MISSING, QualificationStatus.EXPIRED, QualificationStatus.PENDING,
             QualificationStatus.EXPIRING, QualificationStatus.QUALIFIED]


def _in_force(licence: Licence, on: datetime.date) -> bool:
    return (licence.review_status == ReviewStatus.APPROVED
            and (licence.valid_from is None or licence.valid_from <= on)
            and (licence.ends_on is None or licence.ends_on >= on))


@dataclass
class KindStatus:
    """Where one required licence type stands."""

    kind: str
    status: str
    ends_on: datetime.date | None = None

    @property
    def kind_label(self) -> str:
        return LicenceKind(self.kind).label

    @property
    def status_label(self) -> str:
        return QualificationStatus(self.status).label


@dataclass
class Qualification:
    status: str
    until: datetime.date | None
    kinds: list[KindStatus] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """The policy in force on a day, read once for a batch (seeding, imports, the daily job)."""

    required: dict[str, list[str]]
    window: int

    @classmethod
    def on(cls, day: datetime.date) -> Rules:
        required = {kind: required_kinds(kind, day) for kind in InstitutionKind.values}
        return cls(required, max(warning_days(day), default=0))


def evaluate(institution: Institution, on: datetime.date | None = None,
             licences: list[Licence] | None = None, rules: Rules | None = None) -> Qualification:
    """The qualification an institution's licences give it on a day."""
    on = on or policy.today()
    if licences is None:
        licences = list(Licence.objects.filter(institution_id=institution.pk))  # internal: status of the record
    rules = rules or Rules.on(on)
    window = rules.window
    kinds: list[KindStatus] = []
    for kind in rules.required.get(institution.kind, []):
        same = [licence for licence in licences if licence.kind == kind]
        in_force = [licence for licence in same if _in_force(licence, on)]
        if in_force:
            ends = [licence.ends_on for licence in in_force]
            ends_on = None if None in ends else max(ends)
            expiring = ends_on is not None and (ends_on - on).days <= window
            kinds.append(KindStatus(kind, QualificationStatus.EXPIRING if expiring else QualificationStatus.QUALIFIED,
                                    ends_on))
        elif any(licence.review_status == ReviewStatus.PENDING for licence in same):
            kinds.append(KindStatus(kind, QualificationStatus.PENDING))
        elif any(licence.review_status == ReviewStatus.APPROVED for licence in same):
            last = max((licence.ends_on for licence in same if licence.ends_on), default=None)
            kinds.append(KindStatus(kind, QualificationStatus.EXPIRED, last))
        else:
            kinds.append(KindStatus(kind, QualificationStatus.MISSING))
    if not kinds:
        return Qualification(QualificationStatus.QUALIFIED, None, [])
    status = min((item.status for item in kinds), key=_SEVERITY.index)
    valid_ends = [item.ends_on for item in kinds
                  if item.status in (QualificationStatus.QUALIFIED, QualificationStatus.EXPIRING) and item.ends_on]
    until = min(valid_ends) if valid_ends and status in (QualificationStatus.QUALIFIED,
                                                        QualificationStatus.EXPIRING) else None
    return Qualification(status, until, kinds)


def refresh(institution: Institution, on: datetime.date | None = None) -> Institution:
    """Store the derived status on the institution (a plain column write: it is derived, not edited)."""
    result = evaluate(institution, on)
    if (institution.qualification_status, institution.qualification_until) != (result.status, result.until):
        Institution.objects.filter(pk=institution.pk).update_derived(
            qualification_status=result.status, qualification_until=result.until)
        institution.qualification_status, institution.qualification_until = result.status, result.until
    return institution


@dataclass
class QualificationCheck:
    """The answer an order confirmation needs: may we sell this category to this buyer today?"""

    ok: bool
    status: str
    reasons: list[str]


def is_qualified_for(institution: Institution, product_category: str,
                     on: datetime.date | None = None) -> QualificationCheck:
    """GSP 第八十九至九十条: sell only to a lawful buyer and only within its licensed scope.

    Computed from the licences, not the stored column, so it is right at the
    moment of the order even if the nightly refresh has not run yet.
    """
    on = on or policy.today()
    if product_category not in ProductCategory.values:
        raise ValueError(f"unknown product category {product_category!r}")
    licences = list(Licence.objects.filter(institution_id=institution.pk))
    result = evaluate(institution, on, licences)
    reasons: list[str] = []
    for item in result.kinds:
        if item.status in (QualificationStatus.QUALIFIED, QualificationStatus.EXPIRING):
            continue
        reasons.append(_("%(licence)s: %(status)s (GSP 第八十九条: verify the buyer's lawful qualification).")
                       % {"licence": item.kind_label, "status": item.status_label})
    for kind in SCOPED_LICENCE_KINDS:
        if kind not in required_kinds(institution.kind, on):
            continue
        scoped = [licence for licence in licences if licence.kind == kind and _in_force(licence, on)]
        if scoped and not any(product_category in (licence.categories or []) for licence in scoped):
            reasons.append(_("%(category)s is outside the scope of the buyer's %(licence)s "
                             "(GSP 第九十条: sell only within the buyer's scope).")
                           % {"category": ProductCategory(product_category).label,
                              "licence": LicenceKind(kind).label})
    return QualificationCheck(ok=not reasons, status=result.status, reasons=reasons)


# --- licence writes ------------------------------------------------------------------------------

LICENCE_EDITABLE = ("kind", "number", "issuer", "scope", "categories", "purchaser_name", "valid_from", "valid_to",
                    "next_verification_on", "scan")


def add_licence(*, actor: Any, institution: Institution, **fields: Any) -> Licence:
    """Anyone who may edit the institution adds a licence; it waits for the steward's review."""
    authorize(actor, "customers.change_institution")
    allowed = {key: value for key, value in fields.items() if key in LICENCE_EDITABLE}
    with transaction.atomic():
        licence = audited_create(Licence, actor=actor, institution=institution, **allowed)
        refresh(institution)
    return licence


def update_licence(*, actor: Any, licence: Licence, changes: dict[str, Any],
                   expected_version: int | None = None) -> Licence:
    """A changed licence goes back to review: the steward vouches for what is on file."""
    authorize(actor, "customers.change_institution")
    allowed = {key: value for key, value in changes.items() if key in LICENCE_EDITABLE}
    with transaction.atomic():
        licence = audited_update(licence, actor=actor, changes=allowed, expected_version=expected_version)
        if licence.review_status != ReviewStatus.PENDING and _changed_since_review(licence):
            licence = audited_update(licence, actor=actor, changes={"review_status": ReviewStatus.PENDING},
                                     reason=_("Changed after review"))
        refresh(licence.institution)
    return licence


def _changed_since_review(licence: Licence) -> bool:
    return licence.reviewed_at is None or licence.updated_at > licence.reviewed_at


def review_licence(*, actor: Any, licence: Licence, approve: bool, comment: str = "",
                   expected_version: int | None = None) -> Licence:
    """The steward checks the scan against the record (已审核) or sends it back (驳回, with a reason)."""
    authorize(actor, "customers.review_licence")
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"review_comment": _("Say why the licence is rejected.")})
    status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    with transaction.atomic():
        licence = audited_update(licence, actor=actor, expected_version=expected_version, reason=comment, changes={
            "review_status": status, "reviewed_by": actor, "reviewed_at": timezone.now(), "review_comment": comment})
        refresh(licence.institution)
    return licence


# --- daily job -------------------------------------------------------------------------------------


def active_stewards() -> list[Any]:
    """Who hears about customer-data work: every active data steward."""
    return list(get_user_model().objects.filter(role=Role.STEWARD, is_active=True))


def send_expiry_alerts(on: datetime.date | None = None) -> int:
    """Alert the owner rep and the stewards at each warning step (90/60/30 days) and on expiry.

    Each licence remembers the last step it was alerted for, so running twice a day
    or catching up after a missed day sends each alert once. Returns alerts sent.
    """
    on = on or policy.today()
    steps = warning_days(on)
    horizon = on + datetime.timedelta(days=max(steps, default=0))
    candidates = (Licence.objects.filter(review_status=ReviewStatus.APPROVED)
                  .filter(Q(valid_to__lte=horizon) | Q(next_verification_on__lte=horizon)).select_related("institution__owner"))
    stewards = active_stewards()
    sent = 0
    for licence in candidates.iterator(chunk_size=500):
        ends_on = licence.ends_on
        if ends_on is None:
            continue
        days_left = (ends_on - on).days
        if days_left < -1:
            reached = -1 if licence.alerted_for != ends_on else None
        else:
            reached = 0 if days_left < 0 else min((step for step in steps if days_left <= step), default=None)
        if reached is None or (licence.alerted_for == ends_on and licence.alerted_days is not None
                               and licence.alerted_days <= max(reached, 0)):
            continue
        institution = licence.institution
        if days_left < 0:
            title = _("Licence expired: %(institution)s — %(licence)s") % {
                "institution": institution, "licence": licence.get_kind_display()}
        else:
            title = _("Licence expires in %(days)d days: %(institution)s — %(licence)s") % {
                "days": days_left, "institution": institution, "licence": licence.get_kind_display()}
        for user in {institution.owner, *stewards}:
            notify(user, title, body=_("Valid until %(date)s.") % {"date": ends_on},
                   url=institution.get_absolute_url())
        Licence.objects.filter(pk=licence.pk).update_derived(alerted_days=max(reached, 0), alerted_for=ends_on)
        sent += 1
    refresh_due(on)
    return sent


def refresh_due(on: datetime.date | None = None) -> int:
    """Recompute the institutions whose status can change by the calendar alone (near or past expiry)."""
    on = on or policy.today()
    horizon = on + datetime.timedelta(days=max(warning_days(on), default=0))
    due = Institution.objects.filter(qualification_until__isnull=False, qualification_until__lte=horizon)
    count = 0
    for institution in due.iterator(chunk_size=500):
        refresh(institution, on)
        count += 1
    return count
