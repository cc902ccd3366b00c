"""Fixtures of the personal-data checks (8–11 and the PI part of 5): a DPO, a QA officer and a
contact with real-looking personal numbers in rep_a's territory. Imported by those modules only."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

MOBILE = "13812345678"
OTHER_MOBILE = "13987654321"
RESIDENT_ID = "11010519491231002X"
BANK_ACCOUNT = "6222020200112233445"
#: free text as a rep types it into a case or a call note
FREE_TEXT = f"家属电话{OTHER_MOBILE}，身份证110105194912310021，退款卡号{BANK_ACCOUNT}"


def make_user(username: str, role: str) -> Any:
    from conftest import DEMO_PASSWORD
    from pharmacrm.org.services import create_user

    return create_user(actor=None, username=username, full_name=username, role=role,
                       email=f"{username}@example.com", password=DEMO_PASSWORD)


@pytest.fixture
def dpo(org: dict[str, Any]) -> Any:
    return make_user("dpo", "dpo")


@pytest.fixture
def qa(org: dict[str, Any]) -> Any:
    return make_user("qa", "qa")


@pytest.fixture
def person(org: dict[str, Any]) -> Any:
    """A doctor in rep_a's hospital with a mobile, a resident ID (with separate consent) and more."""
    from pharmacrm.customers.services import create_contact

    return create_contact(actor=org["steward"], institution=org["institution_east"], name="樊嘉",
                          title="chief_physician", department="肝外科", mobile=MOBILE,
                          office_phone="021-64041990", email="fanjia@zs-hospital.sh.cn", wechat_id="fanjia_md",
                          birthday=datetime.date(1966, 4, 18), id_number=RESIDENT_ID,
                          sensitive_consent="知情同意书 2024-001", notes=f"助理电话 {OTHER_MOBILE}")


def raw_contact_row(contact_id: int) -> tuple[Any, ...]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile, id_number, search_key, mobile_index FROM customers_contact WHERE id = %s",
                       [contact_id])
        return cursor.fetchone()
