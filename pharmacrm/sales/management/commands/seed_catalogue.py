"""Demo drug catalogue (a fictional manufacturer's products across therapeutic areas and licence categories)
and a few demo orders at each step of their lifecycle."""

from __future__ import annotations

import csv
import datetime
import io
import random
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from pharmacrm.core import imports, policy, tasks
from pharmacrm.core.money import yuan_to_fen
from pharmacrm.customers import qualification
from pharmacrm.customers.choices import ProductCategory, QualificationStatus
from pharmacrm.customers.models import Institution
from pharmacrm.org.models import User
from pharmacrm.sales import orders, purchases, services
from pharmacrm.sales.models import Product, month_of

MAH = "华康制药股份有限公司"
#: code|generic name|brand|dosage form|strength|pack|approval number|therapeutic area|Rx class|
#: NRDL class|VBP price (yuan, - = not in VBP)|list price (yuan)|licence category
CATALOGUE = """
HK-CV-001|阿托伐他汀钙片|康立脂|tablet|20mg|7片/盒|国药准字H20230101|cardiovascular|rx|a|6.30|36.50|chemical
HK-CV-002|苯磺酸氨氯地平片|康平|tablet|5mg|14片/盒|国药准字H20230102|cardiovascular|rx|a|2.10|28.80|chemical
HK-CV-003|硫酸氢氯吡格雷片|-|tablet|75mg|7片/盒|国药准字H20230103|cardiovascular|rx|a|-|52.00|chemical
HK-EN-001|盐酸二甲双胍缓释片|康糖宁|tablet|0.5g|30片/盒|国药准字H20230201|endocrine|rx|a|4.50|19.90|chemical
HK-EN-002|重组人胰岛素注射液|康素林|injection|3ml:300单位|1支/盒|国药准字S20230202|endocrine|rx|a|-|68.00|biological
HK-AI-001|注射用头孢曲松钠|-|injection|1.0g|10瓶/盒|国药准字H20230301|anti_infective|rx|a|-|45.00|chemical
HK-AI-002|阿莫西林胶囊|-|capsule|0.25g|24粒/盒|国药准字H20230302|anti_infective|rx|a|3.20|12.60|chemical
HK-DG-001|奥美拉唑肠溶胶囊|康胃舒|capsule|20mg|14粒/盒|国药准字H20230401|digestive|rx|b|-|32.40|chemical
HK-ON-001|紫杉醇注射液|-|injection|30mg:5ml|1瓶/盒|国药准字H20230501|oncology|rx|b|-|298.00|chemical
HK-NE-001|布洛芬缓释胶囊|康乐痛|capsule|0.3g|20粒/盒|国药准字H20230601|neurology|otc_a|b|-|18.50|chemical
HK-OT-001|维生素C片|-|tablet|0.1g|100片/瓶|国药准字H20230701|other|otc_b|none|-|8.00|chemical
HK-TC-001|清热解毒颗粒|康清|granule|5g|10袋/盒|国药准字Z20230801|tcm|otc_a|b|-|26.00|tcm_patent
HK-TC-002|复方丹参滴丸|-|pill|27mg|180丸/瓶|国药准字Z20230802|tcm|rx|a|-|39.80|tcm_patent
HK-IV-001|乙型肝炎病毒表面抗原检测试剂盒|-|other|48人份|1盒|国药准字S20230901|other|rx|none|-|420.00|ivd
"""
#: an old product no longer sold: the catalogue keeps it for order history
DISCONTINUED = {"HK-AI-002"}


class Command(BaseCommand):
    help = "Create the demo drug catalogue (audited, as the admin)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when products exist")

    def handle(self, *args: Any, if_empty: bool = False, **options: Any) -> None:
        if if_empty and Product.objects.exists():
            self.stdout.write("seed_catalogue: products already exist; nothing to do (--if-empty)")
            return
        admin = User.objects.get(username="admin")
        created = 0
        with transaction.atomic():
            for line in CATALOGUE.strip().splitlines():
                (code, generic, brand, form, strength, pack, number, area, rx, nrdl, vbp_price, price,
                 category) = [None if cell == "-" else cell for cell in map(str.strip, line.split("|"))]
                if Product.objects.filter(code=code).exists():
                    continue
                services.create_product(
                    actor=admin, code=code, generic_name=generic, brand_name=brand or "", dosage_form=form,
                    strength=strength, pack=pack, approval_number=number, marketing_authorisation_holder=MAH,
                    therapeutic_area=area, prescription_class=rx, reimbursement_class=nrdl,
                    volume_based_procurement=vbp_price is not None,
                    procurement_price_fen=yuan_to_fen(vbp_price) if vbp_price else None,
                    list_price_fen=yuan_to_fen(price), category=category,
                    status="discontinued" if code in DISCONTINUED else "active")
                created += 1
            made = self.demo_orders() if created else 0
        flow_rows = self.demo_flow() if created else 0
        self.stdout.write(self.style.SUCCESS(f"seed_catalogue: {created} products, {made} demo orders, "
                                             f"{flow_rows} rows of distributor flow data"))

    def demo_flow(self) -> int:
        """Two years of a distributor's flow data for rep_east's customers, imported as a steward would, with
        a few names the matcher cannot place (they wait in the mapping queue)."""
        steward = User.objects.filter(username="steward").first()
        distributor = Institution.objects.filter(kind="distributor", merged_into__isnull=True).order_by("id").first()
        terminals = list(Institution.objects.filter(owner__username="rep_east", merged_into__isnull=True)
                         .exclude(kind="distributor").order_by("id")[:40])
        if steward is None or distributor is None or not terminals:
            return 0
        rng = random.Random(2026)
        products = list(Product.objects.filter(status="active").order_by("code"))
        this_month = month_of(policy.today())
        lines = [["销售日期", "经销商", "终端名称", "终端城市", "产品", "规格", "数量", "金额（元）", "批号"]]
        for index, terminal in enumerate(terminals):
            bought = rng.sample(products, 3)
            growth = 1 + (index % 5) / 10
            for months_ago in range(23, -1, -1):
                month = purchases.add_months(this_month, -months_ago)
                if rng.random() < 0.2:
                    continue
                day = datetime.date(month // 100, month % 100, rng.randint(1, 28))
                if day > policy.today():
                    day = policy.today()
                for product in bought:
                    quantity = max(1, int(rng.randint(5, 60) * (growth if months_ago < 12 else 1)))
                    lines.append([day.isoformat(), distributor.name, terminal.name, "", product.generic_name,
                                  product.strength, str(quantity), f"{quantity * product.list_price_fen / 100:.2f}",
                                  f"{day:%y%m}{product.pk:03d}"])
        day = policy.today().replace(day=1).isoformat()
        for name in ("新开业的社区诊所（浦东）", "仁心大药房连锁第十二分店", "东方医院南院"):
            lines.append([day, distributor.name, name, "上海", products[0].generic_name, products[0].strength, "12",
                          f"{12 * products[0].list_price_fen / 100:.2f}", "2411001"])
        content = io.StringIO()
        csv.writer(content).writerows(lines)
        upload = SimpleUploadedFile("国药控股流向-演示.csv", content.getvalue().encode("gbk"), "text/csv")
        with mock.patch.object(tasks, "run_import", lambda *args: None):  # run here, not on the worker
            job = imports.start(actor=steward, kind="sales.flow", upload=upload)
            job = imports.configure(actor=steward, job=job, mapping=job.mapping, mode="valid")
            job = imports.run(job.pk, commit=False)
            job = imports.commit(actor=steward, job=job)
            job = imports.run(job.pk, commit=True)
        return job.created_count

    def demo_orders(self) -> int:
        """A few of rep_east's qualified customers get orders at each step: draft, submitted, part-shipped, done."""
        users = {user.username: user for user in User.objects.filter(
            username__in=["rep_east", "manager_east", "finance"])}
        if len(users) < 3:
            return 0
        rep, manager, finance = users["rep_east"], users["manager_east"], users["finance"]
        customers = [institution for institution in Institution.objects.filter(
            owner=rep, qualification_status__in=[QualificationStatus.QUALIFIED, QualificationStatus.EXPIRING],
            merged_into__isnull=True).order_by("id")[:20]
            if qualification.is_qualified_for(institution, ProductCategory.CHEMICAL).ok][:4]
        pills = list(Product.objects.filter(category=ProductCategory.CHEMICAL, status="active").order_by("code")[:3])
        today = policy.today()
        for number, customer in enumerate(customers):
            orders.set_credit_limit(actor=finance, institution=customer, limit_fen=20_000_000, note="演示额度")
            order = orders.create_order(actor=rep, institution=customer, lines=[
                {"product": product, "quantity": 20 * (index + 1)} for index, product in enumerate(pills)])
            if number == 0:
                continue  # stays a draft
            order = orders.submit_order(actor=rep, order=order)
            if number == 1:
                continue  # waits for the manager
            order = orders.confirm_order(actor=manager, order=order)
            lines = list(order.lines.all())
            expiry = today + datetime.timedelta(days=720)
            first = orders.record_shipment(actor=manager, order=order, shipped_on=today, carrier="顺丰速运",
                                           tracking_number=f"SF{order.pk:010d}", lines=[
                {"order_line": line, "quantity": line.quantity // 2, "batch_number": f"24{line.pk:04d}A",
                 "expiry_date": expiry} for line in lines])
            if number == 2:
                continue  # half shipped
            order.refresh_from_db()
            second = orders.record_shipment(actor=manager, order=order, shipped_on=today, carrier="顺丰速运", lines=[
                {"order_line": line, "quantity": line.quantity - line.quantity // 2, "batch_number": f"24{line.pk:04d}B",
                 "expiry_date": expiry} for line in lines])
            for shipment in (first, second):
                orders.confirm_receipt(actor=rep, shipment=shipment, received_on=today, received_by="药剂科 李老师")
            order.refresh_from_db()
            orders.record_invoice(actor=finance, order=order, number=f"DEMO{order.pk:08d}", issued_on=today,
                                  amount_fen=order.total_fen, kind="special", shipments=[first, second])
        return len(customers)
