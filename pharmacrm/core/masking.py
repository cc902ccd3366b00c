"""Masked forms of personal data for roles without the right to see it (PIPL, GB/T 35273).

Each function keeps just enough to recognise a value one already knows
(138****5678) and nothing that identifies a person on its own.
"""

from __future__ import annotations

import datetime
import re

MASK = "*"


def _keep(value: str, head: int, tail: int, minimum_masked: int = 4) -> str:
    if len(value) <= head + tail:
        return MASK * max(len(value), minimum_masked)
    return value[:head] + MASK * max(len(value) - head - tail, minimum_masked) + value[len(value) - tail:]


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678; 010-65281234 → 010-****1234 (area code and last four stay)."""
    if not value:
        return ""
    area, dash, number = value.partition("-")
    if dash and area.startswith("0"):
        number = number.split("-")[0]  # an extension would identify the line
        return f"{area}-{_keep(number, 0, 4)}"
    return _keep(value, 3, 4)


def mask_resident_id(value: str) -> str:
    """110101199003071234 → 110***********1234 (no region below province, no birth date)."""
    return _keep(value, 3, 4) if value else ""


def mask_handle(value: str) -> str:
    """A WeChat ID or e-mail name: first and last character only (wxid_abc123 → w*********3)."""
    if not value:
        return ""
    name, at, domain = value.partition("@")
    masked = _keep(name, 1, 1, minimum_masked=3) if len(name) > 2 else MASK * 3
    return f"{masked}@{domain}" if at else masked


def mask_birthday(value: datetime.date | None) -> str:
    """The year goes (it gives the age); month and day stay, which birthday care needs."""
    return f"****-{value:%m-%d}" if value else ""


def _birthday_text(value: object) -> str:
    """A birthday as the audit trail stores it (ISO text) or as a date."""
    if isinstance(value, datetime.date):
        return mask_birthday(value)
    try:
        return mask_birthday(datetime.date.fromisoformat(str(value)))
    except ValueError:
        return MASK * 4


#: how each personal field is masked, by field name (the Contact model's ``personal_fields``)
PERSONAL_MASKS = {"mobile": mask_phone, "office_phone": mask_phone, "wechat_id": mask_handle,
                  "email": mask_handle, "id_number": mask_resident_id, "birthday": _birthday_text}


def mask_field(name: str, value: object) -> object:
    """``value`` of the personal field ``name`` masked (empty stays empty); unknown fields wholly hidden."""
    if value is None or value == "":
        return value
    from pharmacrm.core.crypto import open_value

    value = open_value(value)  # sealed at rest (core.fields): mask the clear value
    mask = PERSONAL_MASKS.get(name)
    return mask(value) if mask else MASK * 4


def mask_changes(changes: dict[str, object], personal_fields: tuple[str, ...]) -> dict[str, object]:
    """An audit entry's changes with the values of personal fields masked (old → new pairs and plain values)."""
    masked: dict[str, object] = {}
    for name, value in changes.items():
        if name not in personal_fields:
            masked[name] = value
        elif isinstance(value, list):
            masked[name] = [mask_field(name, item) for item in value]
        else:
            masked[name] = mask_field(name, value)
    return masked


# --- numbers typed into free text (notes, case descriptions, survey comments) -----------------------


#: an 18-digit resident ID (last character may be X), a mainland mobile, a bank card / account (16–19 digits);
#: never inside a longer run of letters or digits (hashes, codes)
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_BANK_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])\d{16,19}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")


def mask_bank_account(value: str) -> str:
    """6222020200112233445 → ***************3445 (the last four, as on a receipt)."""
    return _keep(value, 0, 4) if value else ""


def mask_text(text: str) -> str:
    """Free text with every resident ID, bank account and mobile number in it masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _RESIDENT_ID.sub(lambda match: mask_resident_id(match.group()), text)
    text = _BANK_ACCOUNT.sub(lambda match: mask_bank_account(match.group()), text)
    return _MOBILE.sub(lambda match: mask_phone(match.group()[-11:]), text)
