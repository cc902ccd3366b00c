"""RELIABILITY check 5, GxP part — retention, no hard delete (21 CFR 211.198(b), 11.10(c); EU GMP Ch. 8).

Pass: complaint and quality cases are never deleted — ``DELETE /api/v1/cases/<id>/`` and the case page's Void button
(QA, the service desk) set status ``voided`` with a required reason, keep the row and audit it; no ORM path deletes
a case. ``retention_until == max(batch expiry + N years, received + N years)`` (N = policy
``service.complaint_retention_years``, 1), with the batch's expiry from shipments or sample lots, checked by
hypothesis over dates. The retention job deletes nothing — not the cases still within retention, and not the GxP
cases past it, which it only reports to QA (once). The personal-data purge is the privacy app's (not here).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO_PASSWORD, login
from pharmacrm.core import policy
from pharmacrm.core.models import AuditEntry, Notification
from pharmacrm.core.querysets import UnauditedBulkWrite
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.service import retention, services
from pharmacrm.service.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.samples.tests.factories import make_world

    company = org["teams"]["company"]
    people = {name: create_user(actor=None, username=name, full_name=name, role=role, team=company,
                                email=f"{name}@example.com", password=DEMO_PASSWORD)
              for name, role in (("agent", Role.SERVICE), ("qa", Role.QA), ("medic", Role.MEDICAL))}
    samples = make_world(org)
    return {**org, **samples, **people}


def _case(world: dict[str, Any], **fields: Any) -> Case:
    values = {"institution": world["institution_east"], "kind": "complaint", "title": "包装破损",
              "description": "外盒压痕", **fields}
    return services.open_case(actor=world["agent"], **values)


# --- the formula -------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(received=st.dates(datetime.date(2000, 1, 1), datetime.date(2090, 12, 31)),
       expiry=st.none() | st.dates(datetime.date(2000, 1, 1), datetime.date(2095, 12, 31)),
       years=st.integers(1, 30))
def test_retention_formula_over_dates(received: datetime.date, expiry: datetime.date | None, years: int) -> None:
    until = retention.retention_date(received_on=received, expiry=expiry, years=years)
    assert until >= retention.add_years(received, years)
    if expiry is not None:
        assert until >= retention.add_years(expiry, years)
        assert until in (retention.add_years(received, years), retention.add_years(expiry, years))
    else:
        assert until == retention.add_years(received, years)
    # never shorter than N full years from either date (29 February moves to 1 March, not back)
    for start in (received, expiry):
        if start is not None:
            shifted = retention.add_years(start, years)
            assert (shifted.year - start.year) == years and shifted >= start.replace(day=min(start.day, 28))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(days_back=st.integers(0, 300), expiry_days=st.none() | st.integers(-800, 1500))
def test_a_case_stores_its_retention_date(world: dict[str, Any], days_back: int, expiry_days: int | None) -> None:
    """On a real case: the batch's expiry from a sample lot (or none), the received date in China."""
    from pharmacrm.core.audit import audited_create
    from pharmacrm.samples.models import SampleLot

    received_at = timezone.now() - datetime.timedelta(days=days_back)
    batch = ""
    if expiry_days is not None:
        batch = f"R{SampleLot.objects.count()}"
        audited_create(SampleLot, actor=world["marketing"], product=world["product"], batch_number=batch,
                       expiry_date=policy.today() + datetime.timedelta(days=expiry_days))
    case = _case(world, kind="quality", product=world["product"], batch_number=batch, received_at=received_at)
    received_on = timezone.localtime(received_at, policy.CHINA).date()
    expiry = policy.today() + datetime.timedelta(days=expiry_days) if expiry_days is not None else None
    expected = max([retention.add_years(received_on, 1)] + ([retention.add_years(expiry, 1)] if expiry else []))
    assert Case.objects.get(pk=case.pk).retention_until == expected


def test_the_years_are_a_policy_parameter(world: dict[str, Any]) -> None:
    policy.set_value(actor=world["admin"], key="service.complaint_retention_years", value=3,
                     effective_from=policy.today(), reason="集团质量手册要求三年")
    case = _case(world)
    received_on = timezone.localtime(case.received_at, policy.CHINA).date()
    assert case.retention_until == retention.add_years(received_on, 3)


def test_a_shipped_batch_expiry_counts(world: dict[str, Any]) -> None:
    """The batch's expiry from a delivery (GSP record) when no sample lot has it."""
    from pharmacrm.core.audit import audited_create
    from pharmacrm.sales.models import Order, OrderLine, Shipment, ShipmentLine

    order = audited_create(Order, actor=world["admin"], institution=world["institution_east"],
                           owner=world["rep_east"], ordered_on=policy.today())
    line = audited_create(OrderLine, actor=world["admin"], order=order, product=world["product"], quantity=1,
                          unit_price_fen=100, amount_fen=100)
    shipment = audited_create(Shipment, actor=world["admin"], order=order, shipped_on=policy.today(), carrier="顺丰")
    expiry = policy.today() + datetime.timedelta(days=900)
    audited_create(ShipmentLine, actor=world["admin"], shipment=shipment, order_line=line, quantity=1,
                   batch_number="GSP77", expiry_date=expiry)
    case = _case(world, kind="quality", product=world["product"], batch_number="GSP77")
    assert case.retention_until == retention.add_years(expiry, 1)


# --- never deleted: voided ---------------------------------------------------------------------------------------


def test_delete_on_the_api_voids_and_keeps_the_case(world: dict[str, Any], api_client: Any) -> None:
    case = _case(world)
    api_client.force_authenticate(world["qa"])
    url = f"/api/v1/cases/{case.pk}/"
    etag = api_client.get(url)["ETag"]
    assert api_client.delete(url, {}, format="json", HTTP_IF_MATCH=etag).status_code == 400  # no reason
    response = api_client.delete(url, {"reason": "客户重复来电，已并入另一工单"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["status"] == "voided" and response.json()["void_reason"]
    case.refresh_from_db()
    assert case.status == "voided" and case.voided_at is not None
    assert api_client.get(url).status_code == 200  # still there, still readable
    entry = AuditEntry.objects.for_object(case).order_by("-id").first()
    assert entry.changes["status"] == ["received", "voided"] and entry.reason.startswith("客户重复来电")
    assert not case.clocks.filter(stopped_at__isnull=True).exclude(kind="pv_report").exists()


def test_who_may_void(world: dict[str, Any], api_client: Any) -> None:
    case = _case(world)
    for user, allowed in ((world["rep_east"], False), (world["medic"], False), (world["agent"], True)):
        api_client.force_authenticate(user)
        response = api_client.delete(f"/api/v1/cases/{case.pk}/", {"reason": "重复"}, format="json",
                                     HTTP_IF_MATCH=f'"{Case.objects.get(pk=case.pk).version}"')
        assert (response.status_code == 200) == allowed, (user.username, response.status_code)


def test_void_button_on_the_case_page(world: dict[str, Any], client: Any) -> None:
    case = _case(world)
    login(client, world["qa"])
    page = client.get(case.get_absolute_url())
    assert page.status_code == 200 and b'id="void-form"' in page.content
    refused = client.post(f"/service/cases/{case.pk}/void/", {"reason": "", "version": case.version})
    assert refused.status_code == 302 and Case.objects.get(pk=case.pk).status == "received"
    client.post(f"/service/cases/{case.pk}/void/", {"reason": "录入错误", "version": case.version})
    case.refresh_from_db()
    assert case.status == "voided" and case.void_reason == "录入错误"
    page = client.get(case.get_absolute_url())
    assert b'id="case-void-reason"' in page.content and b'id="void-form"' not in page.content
    login(client, world["rep_east"])
    assert b'id="void-form"' not in client.get(_case(world).get_absolute_url()).content


@pytest.mark.parametrize("attempt", ["instance", "queryset", "queryset_allowed", "base_manager"])
def test_no_orm_path_deletes_a_case(world: dict[str, Any], attempt: str) -> None:
    from pharmacrm.core.querysets import allow_bulk_writes

    case = _case(world)
    with pytest.raises(UnauditedBulkWrite):
        if attempt == "instance":
            case.delete()
        elif attempt == "queryset":
            Case.objects.filter(pk=case.pk).delete()
        elif attempt == "queryset_allowed":  # not even inside the audited helpers (audited_delete)
            with allow_bulk_writes():
                Case.objects.filter(pk=case.pk).delete()
        else:
            from pharmacrm.core.audit import audited_delete

            audited_delete(case, actor=world["qa"], reason="清理")
    assert Case.objects.filter(pk=case.pk).exists()


# --- the retention job ---------------------------------------------------------------------------------------------


def test_retention_job_deletes_nothing_and_reports_what_is_past_to_qa(world: dict[str, Any]) -> None:
    from pharmacrm.service import tasks

    kept = _case(world)
    old = _case(world, kind="consultation", title="旧咨询")
    counts = Case.objects.count()
    with time_machine.travel(timezone.now() + datetime.timedelta(days=800)):
        result = retention.review()
        assert result["deleted"] == 0 and result["past_retention"] == Case.objects.count() == counts
        assert Notification.objects.filter(recipient=world["qa"]).count() == counts
        assert retention.review()["notified"] == 0  # told once
        tasks.retention_review.call_local()
    assert Case.objects.count() == counts
    assert Case.objects.filter(pk__in=[kept.pk, old.pk]).count() == 2
    # today nothing is past retention: the job reports nothing and deletes nothing
    assert retention.review() == {"past_retention": 0, "notified": 0, "deleted": 0}
