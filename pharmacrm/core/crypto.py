"""Sensitive personal data at rest (PIPL Art.51, GB/T 35273 §6.3; RELIABILITY check 8).

Values are sealed with AES-256-GCM under a key kept outside the database: the
``PERSONAL_DATA_KEY`` environment variable (urlsafe base64 of 32 bytes) or, like
``SECRET_KEY``, a key generated once under ``var/``. A database dump alone (``sqlite3``,
``pg_dump``) then holds only ciphertext: ``pi1:`` + urlsafe base64 of nonce ‖ ciphertext ‖ tag.

Two flavours share that format and the one ``open_value``:
- ``seal`` draws a random nonce (columns: equal values look different);
- ``seal_deterministic`` derives the nonce from the value (synthetic IV), so the audit
  trail can still tell "changed" from "unchanged" without holding the clear value.

Exact lookups (a contact by mobile) go through ``blind_index``: an HMAC-SHA256 of the
normalised value under a second key derived from the same secret.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pharmacrm.keyfiles import read_or_create

PREFIX = "pi1:"
_NONCE = 12


def _master_key() -> bytes:
    from django.conf import settings

    configured = getattr(settings, "PERSONAL_DATA_KEY", "") or os.environ.get("PERSONAL_DATA_KEY", "")
    if configured:
        key = base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
    else:
        text = read_or_create(Path(settings.VAR_DIR) / "personal_data_key",
                              lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(key) != 32:
        raise ValueError("PERSONAL_DATA_KEY must be 32 bytes (urlsafe base64)")
    return key


@functools.cache
def _keys() -> tuple[bytes, bytes, bytes]:
    """(encryption key, nonce key, blind-index key), each derived for its one use."""
    master = _master_key()
    derive = lambda label: hmac.new(master, label, hashlib.sha256).digest()  # noqa: E731
    return derive(b"pharmacrm/aes-gcm"), derive(b"pharmacrm/siv-nonce"), derive(b"pharmacrm/blind-index")


def reset_keys() -> None:
    """Forget the cached keys (tests that switch keys)."""
    _keys.cache_clear()


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _seal(text: str, nonce: bytes) -> str:
    sealed = AESGCM(_keys()[0]).encrypt(nonce, text.encode(), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def seal(text: str) -> str:
    """``text`` encrypted with a random nonce; empty stays empty (blank fields stay filterable)."""
    if not text or is_sealed(text):
        return text
    return _seal(text, secrets.token_bytes(_NONCE))


def seal_deterministic(text: str) -> str:
    """``text`` encrypted with a nonce derived from it: equal values give equal ciphertext."""
    if not text or is_sealed(text):
        return text
    nonce = hmac.new(_keys()[1], text.encode(), hashlib.sha256).digest()[:_NONCE]
    return _seal(text, nonce)


def open_value(value: Any) -> Any:
    """The clear text of a sealed value; anything else (legacy clear text, None, "") as it is."""
    if not is_sealed(value):
        return value
    raw = value[len(PREFIX):]
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return AESGCM(_keys()[0]).decrypt(data[:_NONCE], data[_NONCE:], PREFIX.encode()).decode()


def open_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """An audit entry's changes with sealed values opened (for viewers entitled to clear values)."""
    def opened(value: Any) -> Any:
        if isinstance(value, list):
            return [opened(item) for item in value]
        return open_value(value)

    return {name: opened(value) for name, value in changes.items()}


def blind_index(value: str) -> str:
    """HMAC-SHA256 (hex) of a normalised value, for exact lookups on a sealed column; "" for empty."""
    if not value:
        return ""
    return hmac.new(_keys()[2], value.strip().upper().encode(), hashlib.sha256).hexdigest()
