"""Test helpers for samples: a product with lots, a consenting doctor, a real PNG signature."""

from __future__ import annotations

import datetime
import struct
import zlib
from typing import Any

from conftest import DEMO_PASSWORD
from pharmacrm.core.audit import audited_create
from pharmacrm.core.policy import today
from pharmacrm.customers import services as customers
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.sales import services as catalogue
from pharmacrm.samples import services
from pharmacrm.samples.models import SampleLot


def png(width: int = 300, height: int = 100, *, ink: bool = True) -> bytes:
    """A real greyscale PNG (what signature_pad's toDataURL makes, near enough), with a stroke drawn on it."""
    rows = []
    for y in range(height):
        row = bytearray([0]) + bytearray([255] * width)
        if ink and y == height // 2:
            row[1 + width // 4: 1 + 3 * width // 4] = bytes(width // 2)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def data_url(content: bytes | None = None) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(content or png()).decode()


def make_world(org: dict[str, Any]) -> dict[str, Any]:
    """Lots of one product (one good, one expired), a consenting doctor at rep_east's hospital, an academic rep,
    marketing (head office), and rep_east holding 20 of the good lot."""
    admin = org["admin"]
    product = catalogue.create_product(
        actor=admin, code="S1", generic_name="阿托伐他汀钙片", dosage_form="tablet", strength="20mg", pack="7片/盒",
        approval_number="国药准字H20230101", marketing_authorisation_holder="华康制药",
        therapeutic_area="cardiovascular", list_price_fen=3650, category="chemical")
    marketing = create_user(actor=None, username="marketing", full_name="市场部", role=Role.MARKETING,
                            team=org["teams"]["company"], email="m@example.com", password=DEMO_PASSWORD)
    academic = create_user(actor=None, username="academic_east", full_name="学术代表", role=Role.ACADEMIC_REP,
                           team=org["teams"]["east"], email="a@example.com", password=DEMO_PASSWORD)
    lot = services.create_lot(actor=marketing, product=product, batch_number="B2401",
                              expiry_date=today() + datetime.timedelta(days=400))
    expired = audited_create(SampleLot, actor=marketing, product=product, batch_number="OLD1",
                             expiry_date=today() - datetime.timedelta(days=1))
    doctor = customers.create_contact(actor=org["steward"], institution=org["institution_east"], name="王医生")
    customers.record_consent(actor=org["steward"], contact=doctor, channel="visit", purpose="academic",
                             granted_on=today() - datetime.timedelta(days=1), evidence="签字同意书 001")
    rep = org["rep_east"]
    receipt = services.dispatch_receipt(actor=marketing, lot=lot, to_holder=rep, quantity=20)
    services.confirm_transfer(actor=rep, transfer=receipt)
    return {"product": product, "marketing": marketing, "academic": academic, "lot": lot, "expired": expired,
            "doctor": doctor, "rep": rep}


def give(world: dict[str, Any], quantity: int = 1, **kwargs: Any) -> Any:
    fields = {"actor": world["rep"], "contact": world["doctor"], "lot": world["lot"], "quantity": quantity,
              "place": "心内科门诊", "signature": png(), **kwargs}
    return services.disburse(**fields)
