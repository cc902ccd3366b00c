"""Free text of a kept GxP record that names an anonymised person (PIPL Art.47 ¶2 restriction).

A complaint or quality case outlives its complainant's deletion request: the record stays as it was entered,
but the person's name in its subject, description, solution and notes is shown only to quality assurance
(``privacy.view_retainedpersonaldata``); everyone else reads ``***`` where the name stood. Nothing stored is
changed — the GxP record and its audit trail stay exactly as entered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pharmacrm.core.crypto import open_value
from pharmacrm.privacy.models import RetainedPersonalData

MASK = "***"
#: a name shorter than this is not looked for in free text (one character would mask half a sentence)
MIN_NAME_LENGTH = 2


def may_read(viewer: Any) -> bool:
    return bool(getattr(viewer, "has_perm", None)) and viewer.has_perm("privacy.view_retainedpersonaldata")


def retained_names() -> list[str]:
    """The kept names of everyone whose identity a GxP record retained (few: deleted complainants)."""
    names: set[str] = set()
    for sealed in RetainedPersonalData.objects.values_list("sealed_identity", flat=True):
        name = str(json.loads(open_value(sealed)).get("name") or "").strip()
        if len(name) >= MIN_NAME_LENGTH:
            names.add(name)
    return sorted(names, key=len, reverse=True)  # the longest first: "王建国" before "王建"


def masker(viewer: Any) -> Callable[[str], str]:
    """A function masking every retained name in a text, for a viewer who may not read them (one query)."""
    if may_read(viewer):
        return _unchanged
    names = retained_names()
    if not names:
        return _unchanged
    pattern = re.compile("|".join(re.escape(name) for name in names), re.IGNORECASE)

    def mask(text: str) -> str:
        return pattern.sub(MASK, text) if isinstance(text, str) and text else text

    return mask


def for_request(request: Any) -> Callable[[str], str]:
    """The request's viewer's masker over every retained name, built once per request (templates, API)."""
    mask = getattr(request, "_retained_mask", None)
    if mask is None:
        mask = masker(getattr(request, "user", None))
        if request is not None:
            request._retained_mask = mask
    return mask


def _unchanged(text: str) -> str:
    return text
