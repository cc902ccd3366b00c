"""Writes on institutions and contacts: every UI form, API call, import and merge goes through here.

Rules kept here (seed 000 二, seed 003 二, DOMAIN.md 2.3/2.4/2.7):
- a USCC with a wrong check character is a warning that only a steward can
  override, with a reason and a licence scan attached;
- institutions created by anyone but a steward wait for the steward (待审核);
- reps change locked master fields (name, USCC, address, legal representative,
  business scope) through change requests (``stewardship``);
- the same USCC cannot be registered twice; a similar name in the same city
  is a warning the user must acknowledge.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from pharmacrm.core.audit import audited_create, audited_update, log_event
from pharmacrm.core.masking import PERSONAL_MASKS, mask_field
from pharmacrm.core.models import AuditAction, StoredFile
from pharmacrm.core.uploads import store_upload, validate_upload
from pharmacrm.core.validators import check_uscc
from pharmacrm.customers import qualification, search
from pharmacrm.customers.choices import ReviewStatus
from pharmacrm.customers.models import Affiliation, Consent, Contact, Institution, Tag
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize

#: what a form or the API may set on an institution (owner, team, derived columns are not here)
INSTITUTION_EDITABLE = (
    "name", "short_name", "aliases", "code", "uscc", "legal_representative", "business_scope", "kind",
    "hospital_grade", "status", "parent", "division", "address", "phone", "bed_count", "annual_outpatient_visits",
    "source_channel", "first_cooperation_date", "categories_needed", "purchase_frequency", "purchase_channels",
    "product_awareness", "decision_process", "annual_budget", "annual_category_purchases",
)
#: set by stewards and managers (who owns the customer); reps cannot hand customers around
ASSIGNMENT_FIELDS = ("owner", "academic_owner")
CONTACT_EDITABLE = (
    "name", "gender", "department", "title", "specialty", "decision_role", "influence_level", "is_key_contact",
    "mobile", "office_phone", "email", "wechat_id", "birthday", "birthday_calendar", "id_number", "notes",
)


class DuplicateWarning(ValidationError):
    """Similar institutions exist; the caller shows them and may resubmit with ``acknowledge_duplicates``."""

    def __init__(self, candidates: list[Institution]):
        self.candidates = candidates
        super().__init__({"name": [_("Similar institutions already exist in this city: %(names)s. Check they are "
                                     "not the same customer, then confirm to create it anyway.")
                                   % {"names": "、".join(c.name for c in candidates[:5])}]}, code="duplicates")


def is_steward(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("customers.steward_institution"))


# --- USCC ---------------------------------------------------------------------------------------


def _apply_uscc(actor: Any, fields: dict[str, Any], override_reason: str, override_scan: Any) -> None:
    """Normalise the USCC; a wrong check character needs a steward override (DOMAIN.md 2.7)."""
    if "uscc" not in fields:
        return
    raw = (fields.get("uscc") or "").strip()
    if not raw:
        fields.update(uscc="", uscc_checksum_ok=True, uscc_override_reason="", uscc_override_scan=None)
        return
    try:
        result = check_uscc(raw)
    except ValidationError as exc:
        raise ValidationError({"uscc": exc.messages}) from exc
    fields["uscc"] = result.value
    fields["uscc_checksum_ok"] = result.checksum_ok
    if result.checksum_ok:
        fields.update(uscc_override_reason="", uscc_override_scan=None)
        return
    override_reason = (override_reason or "").strip()
    if not override_reason or override_scan is None or not is_steward(actor):
        raise ValidationError({"uscc": ValidationError(_(
            "The check character of this USCC is wrong. Some early pilot codes are legal and still fail the "
            "check: a data steward can accept it with a reason and a scan of the business licence."),
            code="uscc_checksum")})
    if not isinstance(override_scan, StoredFile):
        validate_upload(override_scan)  # refuse a bad file before anything is written
    fields.update(uscc_override_reason=override_reason, uscc_override_scan=override_scan)


def _store_scan(actor: Any, institution: Institution, fields: dict[str, Any]) -> None:
    """An override scan uploaded with the form is stored attached to the institution it vouches for."""
    scan = fields.get("uscc_override_scan")
    if scan is not None and not isinstance(scan, StoredFile):
        fields["uscc_override_scan"] = store_upload(actor=actor, upload=scan, attach_to=institution,
                                                    description=_("Business licence scan (USCC override)"))


def _check_uscc_unique(uscc: str, exclude_pk: int | None = None) -> None:
    if not uscc:
        return
    existing = Institution.objects.live().filter(uscc=uscc).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise ValidationError({"uscc": [_("This USCC is already registered to customer no. %(id)s (%(name)s); "
                                          "ask the data steward if it is the same customer.")
                                        % {"id": existing.pk, "name": existing.name}]}, code="uscc_duplicate")


# --- duplicates --------------------------------------------------------------------------------


def find_similar(name: str, division_code: str, exclude_pk: int | None = None, limit: int = 10) -> list[Institution]:
    """Live institutions in the same city whose name is the same after normalising (traditional
    characters, full-width forms, punctuation) or whose pinyin is the same, or that contain it."""
    normalized = search.normalized_name(name)
    if not normalized or not division_code:
        return []
    city_code = division_code[:4] + "00"
    same_city = Institution.objects.live().filter(city_code=city_code).exclude(pk=exclude_pk)
    candidates = same_city.filter(search.name_similarity_filter(name))
    return list(candidates.order_by("id")[:limit])


# --- institutions ------------------------------------------------------------------------------


def _default_owner(actor: Any, fields: dict[str, Any]) -> None:
    if fields.get("owner") is None:
        if actor.role not in (Role.REP, Role.ACADEMIC_REP, Role.MANAGER, Role.REGIONAL_MANAGER):
            raise ValidationError({"owner": [_("Choose the rep who owns this customer.")]})
        fields["owner"] = actor
    owner = fields["owner"]
    if not owner.is_active:
        raise ValidationError({"owner": [_("The owner's account is deactivated.")]})
    if owner.pk != actor.pk and not (is_steward(actor) or actor.role in (Role.MANAGER, Role.REGIONAL_MANAGER)):
        raise ValidationError({"owner": [_("You can only create customers you own.")]})
    fields.setdefault("team", owner.team)


def create_institution(*, actor: Any, tags: Iterable[str] = (), uscc_override_reason: str = "",
                       uscc_override_scan: Any = None, acknowledge_duplicates: bool = False,
                       **fields: Any) -> Institution:
    """A new terminal customer. A rep's new customer waits for the steward (approval mechanism)."""
    authorize(actor, "customers.add_institution")
    allowed = {key: value for key, value in fields.items() if key in (*INSTITUTION_EDITABLE, *ASSIGNMENT_FIELDS)}
    allowed.setdefault("owner", None)
    _default_owner(actor, allowed)
    _apply_uscc(actor, allowed, uscc_override_reason, uscc_override_scan)
    _check_uscc_unique(allowed.get("uscc", ""))
    if not acknowledge_duplicates and allowed.get("division") is not None:
        division = allowed["division"]
        similar = find_similar(allowed.get("name", ""), getattr(division, "code", division))
        if similar:
            raise DuplicateWarning(similar)
    steward = is_steward(actor)
    allowed["review_status"] = ReviewStatus.APPROVED if steward else ReviewStatus.PENDING
    scan = allowed.pop("uscc_override_scan", None)
    with transaction.atomic():
        institution = audited_create(Institution, actor=actor, **allowed)
        if scan is not None:
            extra = {"uscc_override_scan": scan}
            _store_scan(actor, institution, extra)
            institution = audited_update(institution, actor=actor, changes=extra)
        set_tags(actor=actor, institution=institution, names=tags)
        qualification.refresh(institution)
        search.index_institutions([institution])
        if not steward:
            from pharmacrm.customers import stewardship

            stewardship.request_review(actor=actor, institution=institution)
    return institution


def update_institution(*, actor: Any, institution: Institution, changes: dict[str, Any],
                       expected_version: int | None = None, reason: str = "", uscc_override_reason: str = "",
                       uscc_override_scan: Any = None) -> Institution:
    """Edit an institution. Stewards change anything; others change locked fields through a change
    request, which is returned on ``institution.pending_change_request`` (None when none was needed)."""
    authorize(actor, "customers.change_institution")
    allowed = {key: value for key, value in changes.items() if key in INSTITUTION_EDITABLE}
    if any(key in changes for key in ASSIGNMENT_FIELDS):
        if not (is_steward(actor) or actor.role in (Role.MANAGER, Role.REGIONAL_MANAGER)):
            raise PermissionDenied(_("Only managers and data stewards reassign customers."))
        allowed.update({key: changes[key] for key in ASSIGNMENT_FIELDS if key in changes})
        if allowed.get("owner") is not None:
            allowed["team"] = allowed["owner"].team
    if institution.merged_into_id:
        raise ValidationError(_("This record was merged into another; edit that one."))
    if allowed.get("uscc"):
        try:  # compare and store the canonical form; a malformed code is refused before any request
            allowed["uscc"] = check_uscc(allowed["uscc"]).value
        except ValidationError as exc:
            raise ValidationError({"uscc": exc.messages}) from exc
    locked = {key: allowed.pop(key) for key in Institution.locked_fields
              if key in allowed and not _same(institution, key, allowed[key])}
    change_request = None
    with transaction.atomic():
        if locked and is_steward(actor):
            allowed.update(locked)
            _apply_uscc(actor, allowed, uscc_override_reason, uscc_override_scan)
            _check_uscc_unique(allowed.get("uscc", ""), exclude_pk=institution.pk)
            _store_scan(actor, institution, allowed)
        institution = audited_update(institution, actor=actor, changes=allowed, expected_version=expected_version,
                                     reason=reason)
        if locked and not is_steward(actor):
            from pharmacrm.customers import stewardship

            change_request = stewardship.request_change(actor=actor, institution=institution, changes=locked,
                                                        reason=reason)
        qualification.refresh(institution)
        search.index_institutions([institution])
    institution.pending_change_request = change_request
    return institution


def _same(institution: Institution, key: str, value: Any) -> bool:
    field = Institution._meta.get_field(key)
    current = getattr(institution, field.attname)
    proposed = getattr(value, "pk", value)
    return (current or "") == (proposed or "")


def set_tags(*, actor: Any, institution: Institution, names: Iterable[str]) -> None:
    """Replace an institution's tags (created on first use), audited as one change."""
    names = sorted({name.strip()[:30] for name in names if name and name.strip()})
    before = sorted(institution.tags.values_list("name", flat=True)) if institution.pk else []
    if names == before:
        return
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    tags = [existing.get(name) or audited_create(Tag, actor=actor, name=name) for name in names]
    institution.tags.set(tags)
    log_event(AuditAction.UPDATE, actor=actor, obj=institution, changes={"tags": [before, names]})


# --- contacts ---------------------------------------------------------------------------------


def _check_sensitive(contact: Contact | None, fields: dict[str, Any], evidence: str,
                     institution: Institution | None = None) -> bool:
    """A new or changed resident ID needs the person's separate consent (PIPL Art.29) → 400 on the field.

    ``evidence`` (the signed form's number…) records that consent with the save. Returns True when the
    consent must be recorded.
    """
    from pharmacrm.privacy.services import has_sensitive_consent

    new = (fields.get("id_number") or "").strip()
    if not new or (contact is not None and new.upper() == (contact.id_number or "").upper()):
        return False
    if (evidence or "").strip():
        return True
    if has_sensitive_consent(contact):
        return False
    errors: dict[str, list[str]] = {}
    if contact is None:  # report the other fields' problems with it, as a form would
        try:
            Contact(institution=institution, **fields).full_clean(exclude=["institution"])
        except ValidationError as exc:
            errors = dict(exc.message_dict)
    errors.setdefault("id_number", []).append(_(
        "A resident ID number is sensitive personal data: it needs the person's separate consent. Enter the "
        "evidence of that consent (e.g. the signed form's number) with it (PIPL Art.29)."))
    raise ValidationError(errors)


def _record_sensitive_consent(actor: Any, contact: Contact, evidence: str) -> None:
    from pharmacrm.core.policy import today
    from pharmacrm.customers.choices import ConsentChannel, ConsentPurpose

    record_consent(actor=actor, contact=contact, channel=ConsentChannel.VISIT, purpose=ConsentPurpose.SENSITIVE,
                   granted_on=today(), evidence=evidence.strip()[:300],
                   scope=_("Processing of the resident ID number"))


def create_contact(*, actor: Any, institution: Institution, sensitive_consent: str = "", **fields: Any) -> Contact:
    authorize(actor, "customers.add_contact")
    allowed = {key: value for key, value in fields.items() if key in CONTACT_EDITABLE}
    needs_consent = _check_sensitive(None, allowed, sensitive_consent, institution)
    with transaction.atomic():
        contact = audited_create(Contact, actor=actor, institution=institution, **allowed)
        audited_create(Affiliation, actor=actor, contact=contact, institution=institution,
                       department=contact.department, title=contact.title)
        if needs_consent:
            _record_sensitive_consent(actor, contact, sensitive_consent)
        search.index_contacts([contact])
    return contact


def update_contact(*, actor: Any, contact: Contact, changes: dict[str, Any],
                   expected_version: int | None = None, sensitive_consent: str = "") -> Contact:
    authorize(actor, "customers.change_contact")
    allowed = {key: value for key, value in changes.items() if key in CONTACT_EDITABLE}
    needs_consent = _check_sensitive(contact, allowed, sensitive_consent)
    with transaction.atomic():
        if needs_consent:
            _record_sensitive_consent(actor, contact, sensitive_consent)
        contact = audited_update(contact, actor=actor, changes=allowed, expected_version=expected_version)
        search.index_contacts([contact])
    return contact


def add_affiliation(*, actor: Any, contact: Contact, institution: Institution, **fields: Any) -> Affiliation:
    """Record that a contact (also) works at an institution, e.g. a doctor's second practice site."""
    authorize(actor, "customers.change_contact")
    allowed = {key: fields[key] for key in ("department", "title", "start_date", "end_date") if key in fields}
    return audited_create(Affiliation, actor=actor, contact=contact, institution=institution, **allowed)


def end_affiliation(*, actor: Any, affiliation: Affiliation, end_date: Any) -> Affiliation:
    authorize(actor, "customers.change_contact")
    return audited_update(affiliation, actor=actor, changes={"end_date": end_date})


def record_consent(*, actor: Any, contact: Contact, **fields: Any) -> Consent:
    """A consent the contact gave (PIPL 第十四条: informed, specific, on a channel for a purpose)."""
    authorize(actor, "customers.change_contact")
    allowed = {key: fields[key] for key in ("channel", "purpose", "granted_on", "scope", "evidence", "evidence_file")
               if key in fields}
    with transaction.atomic():
        consent = audited_create(Consent, actor=actor, contact=contact, **allowed)
        _refresh_consent_flag(contact)
    return consent


def withdraw_consent(*, actor: Any, consent: Consent, withdrawn_on: Any, note: str = "") -> Consent:
    """PIPL 第十五条: withdrawal is as easy as consent; it shows wherever the contact appears."""
    authorize(actor, "customers.change_contact")
    if consent.withdrawn_on is not None:
        raise ValidationError({"withdrawn_on": [_("This consent was already withdrawn.")]})
    with transaction.atomic():
        consent = audited_update(consent, actor=actor, changes={"withdrawn_on": withdrawn_on,
                                                               "withdrawal_note": (note or "").strip()},
                                 reason=note)
        _refresh_consent_flag(consent.contact)
    return consent


def _refresh_consent_flag(contact: Contact) -> None:
    withdrawn = contact.consents.filter(withdrawn_on__isnull=False).exists()
    if withdrawn != contact.consent_withdrawn:
        Contact.objects.filter(pk=contact.pk).update_derived(consent_withdrawn=withdrawn)
        contact.consent_withdrawn = withdrawn


# --- personal data (PIPL) ------------------------------------------------------------------------

def masked_personal_data(contact: Contact) -> dict[str, str]:
    """A contact's personal fields as everyone sees them until revealed (PIPL 第五十一条: least exposure)."""
    return {name: mask_field(name, getattr(contact, name)) or "" for name in PERSONAL_MASKS}


def reveal_personal_data(*, actor: Any, contact: Contact, purpose: str = "view") -> dict[str, str]:
    """A contact's personal fields in clear for a user entitled to them; every reveal is an audit entry.

    ``purpose`` says where it was shown ("view", "edit" form, "api").
    """
    authorize(actor, "customers.view_contact_personal_data")
    values = {name: getattr(contact, name) or "" for name in PERSONAL_MASKS}
    values["birthday"] = contact.birthday.isoformat() if contact.birthday else ""
    from pharmacrm.privacy.models import AccessPurpose
    from pharmacrm.privacy.services import log_access

    with transaction.atomic():
        log_event(AuditAction.VIEW_PERSONAL_DATA, actor=actor, obj=contact,
                  changes={"fields": [name for name, value in values.items() if value], "via": purpose})
        log_access(actor, [contact], AccessPurpose.REVEAL, detail=purpose)
    return values
