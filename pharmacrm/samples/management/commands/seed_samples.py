"""Demo sample inventory: lots of a few catalogue products, stock for the demo reps (one receipt still waiting
for confirmation, one lot near expiry) and one signed disbursement to a consenting doctor."""

from __future__ import annotations

import datetime
import struct
import zlib
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from pharmacrm.core import policy
from pharmacrm.customers import services as customers
from pharmacrm.customers.choices import ConsentPurpose
from pharmacrm.customers.models import Consent, Contact
from pharmacrm.org.models import User
from pharmacrm.sales.models import Product
from pharmacrm.samples import services
from pharmacrm.samples.models import SampleLot

#: product code, batch number, days to expiry, units to rep_east (confirmed), to academic_east
LOTS = (("HK-CV-001", "S2409A", 540, 30, 10), ("HK-EN-001", "S2407B", 60, 12, 0), ("HK-DG-001", "S2410C", 400, 0, 0))


def signature_png(width: int = 360, height: int = 120) -> bytes:
    """A small greyscale PNG with a pen stroke: a stand-in for a signature drawn on the pad."""
    rows = []
    for y in range(height):
        row = bytearray([0]) + bytearray([255] * width)
        for x in range(width // 6, 5 * width // 6):
            if abs(y - height // 2 - int(20 * ((x % 60) - 30) / 30)) < 2:
                row[1 + x] = 30
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


class Command(BaseCommand):
    help = "Create demo sample lots, stock and one disbursement (audited, through the services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when sample lots exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and SampleLot.objects.exists():
            self.stdout.write("seed_samples: sample lots already exist; nothing to do (--if-empty)")
            return
        users = {user.username: user for user in User.objects.filter(
            username__in=["marketing", "rep_east", "academic_east"])}
        products = {product.code: product for product in Product.objects.filter(code__in=[row[0] for row in LOTS])}
        if len(users) < 3 or not products:
            self.stdout.write("seed_samples: run seed_demo and seed_catalogue first; nothing to do")
            return
        marketing, rep, academic = users["marketing"], users["rep_east"], users["academic_east"]
        today = policy.today()
        made = 0
        with transaction.atomic():
            for code, batch, days, to_rep, to_academic in LOTS:
                if code not in products:
                    continue
                lot = services.create_lot(actor=marketing, product=products[code], batch_number=batch,
                                          expiry_date=today + datetime.timedelta(days=days), notes="演示批次")
                made += 1
                for holder, quantity in ((rep, to_rep), (academic, to_academic)):
                    if quantity:
                        receipt = services.dispatch_receipt(actor=marketing, lot=lot, to_holder=holder,
                                                            quantity=quantity)
                        services.confirm_transfer(actor=holder, transfer=receipt)
            last = SampleLot.objects.filter(batch_number=LOTS[-1][1]).first()
            if last is not None:  # waits for rep_east to confirm receipt
                services.dispatch_receipt(actor=marketing, lot=last, to_holder=rep, quantity=20, note="季度配额")
            disbursed = self.disbursement(rep, SampleLot.objects.filter(batch_number=LOTS[0][1]).first(), today)
        self.stdout.write(self.style.SUCCESS(f"seed_samples: {made} lots, {disbursed} disbursement"))

    def disbursement(self, rep: User, lot: SampleLot | None, today: datetime.date) -> int:
        """rep_east hands two packs to a doctor at one of his hospitals who gave academic consent."""
        if lot is None:
            return 0
        doctor = (Contact.objects.visible_to(rep).filter(institution__owner=rep, title__endswith="physician")
                  .order_by("id").first() or Contact.objects.visible_to(rep).order_by("id").first())
        if doctor is None:
            return 0
        if not Consent.objects.filter(contact=doctor, purpose=ConsentPurpose.ACADEMIC).exists():
            customers.record_consent(actor=rep, contact=doctor, channel="visit", purpose=ConsentPurpose.ACADEMIC,
                                     granted_on=today, scope="接收学术资料与产品样品", evidence="纸质同意书（演示）")
        services.disburse(actor=rep, contact=doctor, lot=lot, quantity=2, place=f"{doctor.department or '科室'}办公室",
                          signature=signature_png(), notes="演示：学术拜访时发放")
        return 1
