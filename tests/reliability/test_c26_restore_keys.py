"""Check 26, operational half (Annex 11 §7.1: data readable after restore): a database restored or moved without
its personal-data key cannot be read back — the start-up check (``manage.py check --database default``) names it
instead of every contact page answering 500. The drill itself (backup under load, restore, hashes, audit chain)
runs in ``make soak``."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.django_db
def test_a_database_moved_without_its_personal_data_key_is_named(org: Any, monkeypatch: Any) -> None:
    """Check 26's operational half: a restore onto a machine without the key would show 500 on contact pages."""
    import base64

    from pharmacrm.core import crypto
    from pharmacrm.core.checks import personal_data_key_opens_the_data
    from pharmacrm.customers.services import create_contact

    create_contact(actor=org["rep_east"], institution=org["institution_east"], name="王医生", mobile="13812345678")
    assert personal_data_key_opens_the_data(databases=["default"]) == []
    monkeypatch.setenv("PERSONAL_DATA_KEY", base64.urlsafe_b64encode(b"another-key-of-thirty-two-bytes!").decode())
    crypto.reset_keys()
    try:
        assert [error.id for error in personal_data_key_opens_the_data(databases=["default"])] == ["pharmacrm.E006"]
    finally:
        monkeypatch.undo()
        crypto.reset_keys()
