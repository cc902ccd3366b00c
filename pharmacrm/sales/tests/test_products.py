"""The drug catalogue: approval numbers, prices in fen, who may keep it, pages, API, export and history."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.audit import StaleVersion
from pharmacrm.core.models import AuditEntry
from pharmacrm.core.money import format_yuan, yuan_to_fen
from pharmacrm.core.validators import normalize_approval_number
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.sales import services
from pharmacrm.sales.models import Product

pytestmark = pytest.mark.django_db

FIELDS = {"code": "HK-T-1", "generic_name": "阿托伐他汀钙片", "brand_name": "康立脂", "dosage_form": "tablet",
          "strength": "20mg", "pack": "7片/盒", "approval_number": "国药准字H20230101",
          "marketing_authorisation_holder": "华康制药股份有限公司", "therapeutic_area": "cardiovascular",
          "prescription_class": "rx", "reimbursement_class": "a", "volume_based_procurement": True,
          "procurement_price_fen": 630, "list_price_fen": 3650, "category": "chemical"}


@pytest.fixture
def marketing(org: dict[str, Any]) -> Any:
    return create_user(actor=None, username="marketing", full_name="市场部", role=Role.MARKETING,
                       team=org["teams"]["company"], email="marketing@example.com", password=DEMO_PASSWORD)


@pytest.fixture
def product(marketing: Any) -> Product:
    return services.create_product(actor=marketing, **FIELDS)


@pytest.mark.parametrize(("raw", "expected"), [
    ("国药准字H20230101", "国药准字H20230101"),
    (" 国药准字 h2023 0101 ", "国药准字H20230101"),
    ("國藥準字Z20230802", "国药准字Z20230802"),
    ("国药准字Ｓ２０２３０２０２", "国药准字S20230202"),  # full-width from a Chinese input method
])
def test_approval_numbers_are_normalised(raw: str, expected: str) -> None:
    assert normalize_approval_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "H20230101", "国药准字X20230101", "国药准字H2023010", "国药准字H202301011",
                                 "国药准字H2023010A"])
def test_bad_approval_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        normalize_approval_number(raw)


@pytest.mark.parametrize(("yuan", "fen"), [("36.50", 3650), ("1,234.5", 123450), ("¥0.01", 1), ("100", 10000)])
def test_money_is_exact_fen(yuan: str, fen: int) -> None:
    assert yuan_to_fen(yuan) == fen
    assert format_yuan(fen).replace(",", "") == "¥" + f"{fen // 100}.{fen % 100:02d}"


@pytest.mark.parametrize("yuan", ["1.005", "abc", "NaN", "1e30", ""])
def test_money_refuses_fractions_of_fen_and_nonsense(yuan: str) -> None:
    with pytest.raises(ValidationError):
        yuan_to_fen(yuan)


def test_marketing_keeps_the_catalogue_audited(product: Product, marketing: Any) -> None:
    assert product.approval_number == "国药准字H20230101" and product.list_price == yuan_to_fen("36.50") / 100
    entry = AuditEntry.objects.for_object(product).get(action="create")
    assert entry.changes["list_price_fen"] == [None, 3650]
    updated = services.update_product(actor=marketing, product=product, changes={"list_price_fen": 3800},
                                      expected_version=product.version)
    assert updated.version == 2
    assert AuditEntry.objects.for_object(product).get(action="update").changes == {"list_price_fen": [3650, 3800]}
    with pytest.raises(StaleVersion):
        services.update_product(actor=marketing, product=product, changes={"status": "suspended"},
                                expected_version=1)


def test_rules_of_a_product(product: Product, marketing: Any) -> None:
    with pytest.raises(ValidationError) as error:  # same approval number and pack: the same product
        services.create_product(actor=marketing, **{**FIELDS, "code": "HK-T-2"})
    assert "__all__" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.create_product(actor=marketing, **{**FIELDS, "code": "HK-T-3", "pack": "14片/盒",
                                                    "procurement_price_fen": None})
    assert "procurement_price_fen" in error.value.message_dict  # VBP without its price
    with pytest.raises(ValidationError) as error:
        services.create_product(actor=marketing, **{**FIELDS, "code": "HK-T-4", "approval_number": "H2023"})
    assert "approval_number" in error.value.message_dict
    services.create_product(actor=marketing, **{**FIELDS, "code": "HK-T-5", "pack": "28片/盒"})  # another pack


@pytest.mark.parametrize("persona", ["rep_east", "steward", "leader", "compliance"])
def test_only_marketing_and_admins_change_the_catalogue(org: dict[str, Any], product: Product, persona: str) -> None:
    assert Product.objects.visible_to(org[persona]).count() == 1  # everyone reads the whole catalogue
    with pytest.raises(PermissionDenied):
        services.create_product(actor=org[persona], **{**FIELDS, "code": "X", "pack": "1"})
    with pytest.raises(PermissionDenied):
        services.update_product(actor=org[persona], product=product, changes={"list_price_fen": 1})


def test_pages_list_filter_create_edit_and_history(client: Any, org: dict[str, Any], marketing: Any,
                                                   product: Product) -> None:
    login(client, marketing)
    page = client.get("/sales/products/", {"q": "康立"}).content.decode()
    assert "阿托伐他汀钙片" in page and "¥36.50" in page
    assert "阿托伐他汀钙片" not in client.get("/sales/products/", {"therapeutic_area": "oncology"}).content.decode()
    assert "阿托伐他汀钙片" not in client.get("/sales/products/", {"vbp": "false"}).content.decode()
    assert "阿托伐他汀钙片" in client.get("/sales/products/", {"vbp": "true"}).content.decode()
    form = {**FIELDS, "code": "HK-T-9", "pack": "30片/盒", "approval_number": "国药准字 h2023 0101",
            "list_price_fen": "128.5", "procurement_price_fen": "12.05", "status": "active"}
    response = client.post("/sales/products/new/", form)
    created = Product.objects.get(code="HK-T-9")
    assert response.status_code == 302 and (created.list_price_fen, created.procurement_price_fen) == (12850, 1205)
    assert created.approval_number == "国药准字H20230101"
    bad = client.post("/sales/products/new/", {**form, "code": "HK-T-10", "pack": "60片/盒",
                                               "list_price_fen": "12.345", "approval_number": "H1"})
    assert bad.status_code == 400
    assert "两位小数" in bad.content.decode() and not Product.objects.filter(code="HK-T-10").exists()
    response = client.post(f"/sales/products/{created.pk}/edit/", {**form, "list_price_fen": "130",
                                                                   "version": created.version})
    assert response.status_code == 302
    stale = client.post(f"/sales/products/{created.pk}/edit/", {**form, "list_price_fen": "140", "version": 1})
    assert stale.status_code == 400 and Product.objects.get(pk=created.pk).list_price_fen == 13000

    login(client, org["rep_east"])  # reads, cannot change
    assert client.get(f"/sales/products/{created.pk}/").status_code == 200
    assert client.get("/sales/products/new/").status_code == 403
    assert client.post(f"/sales/products/{created.pk}/edit/", form).status_code == 403
    assert "/sales/products/" in client.get("/").content.decode()  # in the navigation


def test_export_of_the_filtered_catalogue(client: Any, org: dict[str, Any], product: Product) -> None:
    login(client, org["rep_east"])
    response = client.get("/sales/products/", {"format": "csv", "therapeutic_area": "cardiovascular"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")
                                       if hasattr(response, "streaming_content") else
                                       response.content.decode("utf-8-sig"))))
    assert any("阿托伐他汀钙片" in row for row in rows) and any("36.50" in row for row in rows)
    assert AuditEntry.objects.filter(action="export").exists()


def test_api_reads_for_all_writes_for_marketing(api_client: Any, org: dict[str, Any], marketing: Any,
                                                product: Product) -> None:
    api_client.force_authenticate(org["rep_east"])
    listed = api_client.get("/api/v1/products/", {"search": "阿托伐"}).json()["results"]
    assert [row["code"] for row in listed] == ["HK-T-1"] and listed[0]["list_price_fen"] == 3650
    assert api_client.post("/api/v1/products/", {**FIELDS, "code": "Z"}, format="json").status_code == 403

    api_client.force_authenticate(marketing)
    response = api_client.post("/api/v1/products/", {**FIELDS, "code": "HK-T-7", "pack": "90片/盒",
                                                     "list_price_fen": "many"}, format="json")
    assert response.status_code == 400 and "list_price_fen" in response.json()["error"]["fields"]
    response = api_client.post("/api/v1/products/", {**FIELDS, "code": "HK-T-7", "pack": "90片/盒"}, format="json")
    assert response.status_code == 201 and response["ETag"] == '"1"'
    pk = response.json()["id"]
    response = api_client.patch(f"/api/v1/products/{pk}/", {"status": "suspended"}, format="json",
                                headers={"If-Match": '"1"'})
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    stale = api_client.patch(f"/api/v1/products/{pk}/", {"status": "active"}, format="json",
                             headers={"If-Match": '"1"'})
    assert stale.status_code in (409, 412) and Product.objects.get(pk=pk).status == "suspended"


def test_demo_catalogue(org: dict[str, Any]) -> None:
    call_command("seed_catalogue", stdout=io.StringIO())
    assert Product.objects.count() >= 12
    assert Product.objects.filter(category="biological", approval_number__startswith="国药准字S").exists()
    assert Product.objects.exclude(status="active").exists()
    call_command("seed_catalogue", "--if-empty", stdout=io.StringIO())  # idempotent
    assert Product.objects.count() == Product.objects.values("code").distinct().count()
