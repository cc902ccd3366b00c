"""``{% gxp_text case.title %}``: free text of a kept GxP record, with the names of anonymised persons masked for
everyone but quality assurance (``pharmacrm.privacy.retained``). Escaped like any variable."""

from __future__ import annotations

from typing import Any

from django import template

from pharmacrm.privacy.retained import for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def gxp_text(context: template.Context, text: Any) -> Any:
    if not text:
        return text
    return for_request(context.get("request"))(text)
