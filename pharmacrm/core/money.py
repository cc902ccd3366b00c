"""Money as whole fen (分) in the database: exact on SQLite and PostgreSQL alike (DESIGN.md: never float).

Forms and the API speak yuan with at most two decimals (``1234.5`` → 123450 fen);
templates show ``¥1,234.50``.
"""

from __future__ import annotations

import decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: the largest amount accepted anywhere: ¥100 billion, far above any order, well inside a 64-bit integer
MAX_FEN = 100_000_000_000 * 100


def yuan_to_fen(value: decimal.Decimal | int | str) -> int:
    """Exact conversion; more than two decimals or a value out of range is a ValidationError."""
    try:
        amount = decimal.Decimal(str(value).replace(",", "").replace("¥", "").replace("￥", "").strip())
    except decimal.InvalidOperation:
        raise ValidationError(_("Enter an amount in yuan, e.g. 1234.50."), code="money_invalid") from None
    if not amount.is_finite():
        raise ValidationError(_("Enter an amount in yuan, e.g. 1234.50."), code="money_invalid")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValidationError(_("Amounts have at most two decimals (fen)."), code="money_precision")
    if abs(fen) > MAX_FEN:
        raise ValidationError(_("The amount is too large."), code="money_range")
    return int(fen)


def fen_to_yuan(fen: int | None) -> decimal.Decimal | None:
    return None if fen is None else (decimal.Decimal(fen) / 100).quantize(decimal.Decimal("0.01"))


def format_yuan(fen: int | None) -> str:
    """``123450`` → ``¥1,234.50``; None → empty."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


class YuanField(forms.Field):
    """A form field in yuan whose cleaned value is whole fen (int), or None when empty and optional."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *args: Any, minimum_fen: int = 0, **kwargs: Any) -> None:
        self.minimum_fen = minimum_fen
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return fen_to_yuan(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        if len(text) > 24:
            raise ValidationError(_("Enter an amount in yuan, e.g. 1234.50."), code="money_invalid")
        fen = yuan_to_fen(text)
        if fen < self.minimum_fen:
            raise ValidationError(_("The amount cannot be below %(minimum)s.") % {"minimum": format_yuan(self.minimum_fen)},
                                  code="money_minimum")
        return fen
