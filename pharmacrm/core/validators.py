"""Chinese identifiers: USCC (GB 32100), resident ID numbers, mobile and landline phones.

Input comes from forms, the API and Excel imports, so everything is normalised
first (full-width digits and letters from Chinese input methods, spaces, dashes)
and errors are field-level ``ValidationError`` messages, never exceptions from
the underlying libraries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

_SEPARATORS = re.compile(r"[\s\-‐‑–—_.()（）]+")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|-)\s*(\d{1,6})$", re.IGNORECASE)


def _normalise(raw: object) -> str:
    """NFKC folds full-width characters (１３８, ＡＢ) to ASCII; separators go."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(raw or ""))).upper()


# --- USCC -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsccCheck:
    value: str
    #: False when only the check character is wrong: early pilot codes are legal yet fail it,
    #: so callers warn and ask for a steward override with a licence scan (DOMAIN.md 2.7)
    checksum_ok: bool


def check_uscc(raw: object) -> UsccCheck:
    """Normalise a 统一社会信用代码; wrong length or characters are refused outright."""
    value = _normalise(raw)
    try:
        uscc.validate(value)
    except stdnum_errors.InvalidChecksum:
        return UsccCheck(value, checksum_ok=False)
    except stdnum_errors.InvalidLength as exc:
        raise ValidationError(_("A unified social credit code has 18 characters; this one has %(count)d.")
                              % {"count": len(value)}, code="uscc_length") from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("A unified social credit code uses digits and the letters "
                                "ABCDEFGHJKLMNPQRTUWXY only."), code="uscc_format") from exc
    return UsccCheck(value, checksum_ok=True)


# --- resident identity card number ---------------------------------------------------


def normalize_resident_id(raw: object) -> str:
    """A 居民身份证号码 (GB 11643): 18 characters with a valid birth date and check character."""
    value = _normalise(raw)
    try:
        return ric.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("Enter a valid 18-character resident ID number."), code="resident_id") from exc


# --- phones ------------------------------------------------------------------------------
# The numbering plan (MIIT), not a list of allocated ranges: a real doctor's new number must
# never be refused because a metadata table lags behind the carriers.

MOBILE = "mobile"
LANDLINE = "landline"
_MOBILE = re.compile(r"1[3-9]\d{9}")
#: area codes: 010 and 020–029 have three digits, all others four (0[3-9]xx)
_LANDLINE = re.compile(r"(0(?:10|2\d)|0[3-9]\d{2})([2-9]\d{6,7})")
_SERVICE = re.compile(r"([48]00)(\d{3})(\d{4})")  # 400/800 hotlines


def _parse_number(text: str, extension: str = "") -> tuple[str, str, str] | None:
    """(kind, canonical number, extension) when ``text`` is one number, else None."""
    digits = _normalise(text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
            if not digits.startswith("0") and not _MOBILE.fullmatch(digits):
                digits = "0" + digits  # +86 10 6528 1234 is dialled 010-65281234 at home
    if (mobile := _MOBILE.fullmatch(digits)) and not extension:
        return MOBILE, mobile.group(0), ""
    if landline := _LANDLINE.fullmatch(digits):
        return LANDLINE, "-".join(landline.groups()), extension
    if service := _SERVICE.fullmatch(digits):
        return LANDLINE, "-".join(service.groups()), extension
    return None


def normalize_phone(raw: object, kind: str | None = None) -> str:
    """A mainland China phone number in one canonical form.

    Mobiles become ``13812345678``; landlines ``010-65281234`` (area code, number and
    an optional ``-extension``); 400/800 numbers ``400-810-8888``. ``kind`` restricts
    the answer to ``MOBILE`` or ``LANDLINE``.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="phone_empty")
    parsed = _parse_number(text)
    match = _EXTENSION.search(text)
    if parsed is None and match and len(_normalise(text[:match.start()])) >= 10:
        # not a number as a whole: maybe a full number and an extension (010-65281234 转 8001)
        parsed = _parse_number(text[:match.start()], extension=match.group(1))
    if parsed is None:
        raise ValidationError(_("Enter a valid mainland China phone number."), code="phone_invalid")
    found, canonical, extension = parsed
    if kind == MOBILE and found != MOBILE:
        raise ValidationError(_("Enter a mobile number (11 digits starting with 1)."), code="phone_not_mobile")
    if kind == LANDLINE and found != LANDLINE:
        raise ValidationError(_("Enter a landline number with its area code, e.g. 010-65281234."),
                              code="phone_not_landline")
    return f"{canonical}-{extension}" if extension else canonical


# --- NMPA drug approval number (药品批准文号) ---------------------------------------------

#: 国药准字 + H (chemical) / Z (traditional Chinese medicine) / S (biological) / J (imported, sub-packed)
#: + 8 digits: the form NMPA has issued since 2002
_APPROVAL_NUMBER = re.compile(r"^国药准字([HZSJ])(\d{8})$")


def normalize_approval_number(raw: object) -> str:
    """``国药准字 h2004 1234`` → ``国药准字H20041234``; a field-level error when it is not one."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw or ""))).upper()
    text = text.replace("國藥準字", "国药准字")
    if not text:
        raise ValidationError(_("Enter the NMPA approval number."), code="approval_number_empty")
    if not _APPROVAL_NUMBER.match(text):
        raise ValidationError(
            _("%(value)s is not an NMPA approval number: 国药准字, then H, Z, S or J, then 8 digits "
              "(e.g. 国药准字H20041234).") % {"value": str(raw)[:40]}, code="approval_number_invalid")
    return text


def clean_text(value: object, field: str, limit: int, *, required: bool = False) -> str:
    """Free text from a form or the API, stripped; a refusal on ``field`` when it is required and empty or longer
    than ``limit`` characters (services check it again whatever the caller checked)."""
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({field: _("At most %(limit)d characters (this has %(count)d).") % {
            "limit": limit, "count": len(text)}})
    return text
