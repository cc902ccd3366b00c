"""The API's last line of PIPL masking (RELIABILITY check 8): for users without the right to unmasked
personal data, every string of every JSON response has resident IDs, bank accounts and mobile numbers
masked — also those a rep typed into a note or a case description. Serializers mask the known personal
fields already; this catches free text. The audited reveal action is the one exception."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer

from pharmacrm.core.masking import mask_text
from pharmacrm.org.scope import can_see_unmasked_personal_data

#: keys whose values are business identifiers, never a person's (a USCC may be all digits)
BUSINESS_IDENTIFIERS = frozenset({"uscc", "code", "number", "batch_number", "entry_hash", "previous_hash",
                                  "content_hash", "last_hash", "pv_reference", "request_id"})


def masked(data: Any, key: str = "") -> Any:
    if isinstance(data, str):
        return data if key in BUSINESS_IDENTIFIERS else mask_text(data)
    if isinstance(data, dict):
        return {name: masked(value, str(name)) for name, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [masked(item, key) for item in data]
    return data


class MaskingJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: dict[str, Any] | None = None) -> bytes:
        context = renderer_context or {}
        request, view = context.get("request"), context.get("view")
        exempt = getattr(view, "action", None) in getattr(view, "unmasked_actions", ())
        if request is not None and not exempt and not can_see_unmasked_personal_data(request.user):
            data = masked(data)
        return super().render(data, accepted_media_type, renderer_context)
