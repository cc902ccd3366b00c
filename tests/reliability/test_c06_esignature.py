"""Check 6 — electronic signature manifest, re-authentication and linking (21 CFR 11.50, 11.70, 11.200;
EU GMP Annex 11 §14).

Pass criterion (RELIABILITY.md): signing with a session but a wrong or missing password → 403, no signature and a
security event; a successful signature row has the printed name, UTC time, a meaning from the controlled list and
the sha256 of the signed content; an edit of the record after signing → the signature is reported invalid and a
re-sign required (page and API); a signature id presented for another record → 400.

Signed here: the closure of a quality case by QA and the service desk (``POST /api/v1/cases/<id>/sign/``, the
case page's "close under signature"), and approvals, which sign through the same ``core.signatures``. Each guard
is also switched off once to show that the check notices.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import pytest
from django.utils import timezone

from conftest import DEMO_PASSWORD, login
from pharmacrm.core import signatures
from pharmacrm.core.audit import audited_update
from pharmacrm.core.models import AuditAction, AuditEntry, Signature, SignatureMeaning
from pharmacrm.service.choices import CaseStatus
from pharmacrm.service.models import Case
from tests.reliability.signing import CLOSE, quality_case, sign_url, signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return signers(org)


def _signed_in(client: Any, user: Any) -> Any:
    """A real login through the page (a session, as a browser has), then the API on that session."""
    client.logout()
    response = client.post("/login/", {"username": user.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def _sign(client: Any, case: Case, **data: Any) -> Any:
    return client.post(sign_url(case), {**CLOSE, **data}, content_type="application/json")


def _refusals_hold(client: Any, world: dict[str, Any], case: Case) -> bool:
    """Wrong and missing passwords: 403, no signature, the case still open, a SIGN_FAILED event for each."""
    before = AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, actor=world["agent"]).count()
    wrong = _sign(client, case, username="agent", password="not-the-password")
    missing = _sign(client, case, username="agent", password="")
    case.refresh_from_db()
    events = AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, actor=world["agent"]).count() - before
    return (wrong.status_code == missing.status_code == 403 and not Signature.objects.exists()
            and case.status == CaseStatus.CONFIRMED and events == 2)


def test_wrong_or_missing_password_is_refused_and_a_security_event(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _signed_in(client, world["agent"])
    assert _refusals_hold(client, world, case)
    failed = AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, actor=world["agent"]).order_by("id")
    assert [entry.changes["reason"] for entry in failed] == ["wrong password", "missing password"]
    assert all(entry.ip_address and entry.object_id == str(case.pk) for entry in failed)
    page = client.post(f"/service/cases/{case.pk}/sign/", {**CLOSE, "username": "agent", "password": "nope"})
    assert page.status_code == 403 and not Signature.objects.exists()


def test_refusal_check_notices_a_signing_without_the_password(client: Any, world: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: a password check that accepts anything signs the record; the check above would fail."""
    case = quality_case(world)
    _signed_in(client, world["agent"])
    monkeypatch.setattr(type(world["agent"]), "check_password", lambda self, raw: True)
    assert not _refusals_hold(client, world, case)


def test_signature_row_is_a_complete_manifest(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _signed_in(client, world["agent"])
    response = _sign(client, case, username="agent", password=DEMO_PASSWORD)
    assert response.status_code == 201, response.content
    signature = Signature.objects.get()
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert signature.signer == world["agent"] and signature.printed_name == "客服 李娜"
    assert signature.signed_at.utcoffset() == datetime.timedelta(0)  # stored and returned in UTC
    assert abs((timezone.now() - signature.signed_at).total_seconds()) < 2
    assert response.json()["signed_at"].endswith("Z")
    assert signature.meaning == "review" and signature.meaning in SignatureMeaning.values
    canonical = json.dumps(signatures.signed_content(case), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert signature.content_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert signature.object_id == str(case.pk) and signature.content_type.model == "case"
    sign_entry = AuditEntry.objects.get(action=AuditAction.SIGN)
    assert sign_entry.changes["signature"] == signature.pk and sign_entry.actor == world["agent"]
    # QA countersigns the closed case: password only, within its session after its first signing
    _signed_in(client, world["qa"])
    qa = _sign(client, case, meaning="approval", username="qa", password=DEMO_PASSWORD)
    assert qa.status_code == 201 and Signature.objects.count() == 2


def test_meaning_outside_the_controlled_list_is_a_400(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _signed_in(client, world["agent"])
    for meaning in ("", "ok", "承认"):
        response = _sign(client, case, meaning=meaning, username="agent", password=DEMO_PASSWORD)
        assert response.status_code == 400 and "meaning" in response.json()["error"]["fields"]
    assert not Signature.objects.exists()


def _edit_is_reported(client: Any, case: Case) -> bool:
    """After an edit of the signed case, the API and the page say the signature no longer stands."""
    api = client.get(f"/api/v1/cases/{case.pk}/signatures/").json()
    page = client.get(f"/service/cases/{case.pk}/")
    return (api["resign_required"] is True and api["signatures"][0]["valid"] is False
            and client.get(f"/api/v1/signatures/{api['signatures'][0]['id']}/").json()["valid"] is False
            and 'id="resign-required"' in page.content.decode() and page.context["manifest"][0]["valid"] is False)


def test_edit_after_signing_invalidates_and_asks_to_resign(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _signed_in(client, world["agent"])
    assert _sign(client, case, username="agent", password=DEMO_PASSWORD).status_code == 201
    fresh = client.get(f"/api/v1/cases/{case.pk}/signatures/").json()
    assert fresh["resign_required"] is False and fresh["signatures"][0]["valid"] is True
    assert not _edit_is_reported(client, case)
    case.refresh_from_db()
    audited_update(case, actor=world["agent"], changes={"corrective_action": "改为更换供应商"}, reason="CAPA 修订")
    assert _edit_is_reported(client, case)
    # re-signing the edited record gives a valid signature again; the old one stays invalid in the manifest
    again = _sign(client, case, username="agent", password=DEMO_PASSWORD)
    assert again.status_code == 201
    manifest = client.get(f"/api/v1/cases/{case.pk}/signatures/").json()
    assert manifest["resign_required"] is False
    assert [row["valid"] for row in manifest["signatures"]] == [True, False]


def test_reopening_a_signed_case_invalidates_its_signature(client: Any, world: dict[str, Any]) -> None:
    from pharmacrm.service import services

    case = quality_case(world)
    _signed_in(client, world["agent"])
    assert _sign(client, case, username="agent", password=DEMO_PASSWORD).status_code == 201
    services.move(actor=world["agent"], case=Case.objects.get(pk=case.pk), to=CaseStatus.INVESTIGATING,
                  reason="客户再次反馈")
    assert signatures.verify(Signature.objects.get()) is False


def test_edit_check_notices_a_hash_that_ignores_the_content(client: Any, world: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: a content hash blind to the record's fields keeps the signature "valid" after the edit."""
    monkeypatch.setattr(signatures, "signed_content", lambda obj: {"model": obj._meta.label_lower, "pk": obj.pk})
    case = quality_case(world)
    _signed_in(client, world["agent"])
    assert _sign(client, case, username="agent", password=DEMO_PASSWORD).status_code == 201
    case.refresh_from_db()
    audited_update(case, actor=world["agent"], changes={"corrective_action": "改为更换供应商"}, reason="CAPA 修订")
    assert not _edit_is_reported(client, case)


def _replay_is_refused(client: Any, signature_id: int, other: Case) -> bool:
    response = client.get(f"/api/v1/cases/{other.pk}/signatures/?signature={signature_id}")
    return response.status_code == 400 and "signature" in response.json()["error"]["fields"]


def test_signature_presented_for_another_record_is_a_400(client: Any, world: dict[str, Any]) -> None:
    first, second = quality_case(world), quality_case(world, title="另一批次")
    _signed_in(client, world["agent"])
    assert _sign(client, first, username="agent", password=DEMO_PASSWORD).status_code == 201
    signature = Signature.objects.get()
    own = client.get(f"/api/v1/cases/{first.pk}/signatures/?signature={signature.pk}")
    assert own.status_code == 200 and own.json()["signatures"][0]["valid"] is True
    assert _replay_is_refused(client, signature.pk, second)
    assert client.get(f"/api/v1/cases/{second.pk}/signatures/?signature=999999").status_code == 400
    assert signatures.verify(signature, second) is False and signatures.verify(signature, first) is True
    # an approval's signature is not a case's either
    assert client.get(f"/api/v1/cases/{first.pk}/signatures/?signature=abc").status_code == 400


def test_replay_check_notices_a_manifest_that_accepts_any_signature(client: Any, world: dict[str, Any],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: without the record check, another record's signature is served as if it were this one's."""
    monkeypatch.setattr(signatures, "check_belongs", lambda signature, obj: None)
    first, second = quality_case(world), quality_case(world, title="另一批次")
    _signed_in(client, world["agent"])
    assert _sign(client, first, username="agent", password=DEMO_PASSWORD).status_code == 201
    assert not _replay_is_refused(client, Signature.objects.get().pk, second)


def test_only_qa_or_the_service_desk_signs_a_closure(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    login(client, world["rep_east"])  # sees the case (their customer's) but may not sign its closure
    assert _sign(client, case, username="rep_east", password=DEMO_PASSWORD).status_code == 403
    login(client, world["rep_west"])  # does not see it at all
    assert _sign(client, case, username="rep_west", password=DEMO_PASSWORD).status_code == 404
    assert not Signature.objects.exists()


def test_approvals_sign_through_the_same_service(api_client: Any, world: dict[str, Any]) -> None:
    """Approval decisions are signed by core.signatures too: same refusal, manifest and replay rule."""
    from pharmacrm.core.models import ApprovalRequest
    from pharmacrm.org.account_requests import ACCOUNT_REQUEST_KIND, request_account

    account_request = request_account(actor=world["manager_east"], username="new_rep", full_name="新代表",
                                      email="n@example.com", role="rep", team=world["teams"]["east"],
                                      territories=[], justification="新人入职")
    approval = ApprovalRequest.objects.get(kind=ACCOUNT_REQUEST_KIND, subject_id=str(account_request.pk))
    login(api_client, world["admin"])
    url = f"/api/v1/approvals/{approval.pk}/decide/"
    wrong = api_client.post(url, {"approve": True, "username": "admin", "password": "x"}, format="json")
    assert wrong.status_code == 403 and not Signature.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, actor=world["admin"]).count() == 1
    ok = api_client.post(url, {"approve": True, "username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert ok.status_code == 200
    signature = Signature.objects.get()
    assert signature.content_hash == signatures.content_hash(account_request)
    assert signature.meaning == SignatureMeaning.APPROVAL and signature.printed_name == "admin"
    case = quality_case(world)
    assert signatures.verify(signature, case) is False
    with pytest.raises(signatures.SignatureMismatch):
        signatures.check_belongs(signature, case)


def test_case_page_offers_the_signed_closure(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _signed_in(client, world["agent"])
    page = client.get(f"/service/cases/{case.pk}/").content.decode()
    assert 'id="sign-form"' in page and 'name="username"' in page and 'name="meaning"' in page
    done = client.post(f"/service/cases/{case.pk}/sign/", {**CLOSE, "username": "agent", "password": DEMO_PASSWORD})
    assert done.status_code == 302
    page = client.get(f"/service/cases/{case.pk}/")
    body = page.content.decode()
    assert "signature-manifest" in body and "UTC" in body and 'id="resign-required"' not in body
    assert [entry["valid"] for entry in page.context["manifest"]] == [True]


def test_qa_is_offered_the_signature_of_closed_cases_only(client: Any, world: dict[str, Any]) -> None:
    """QA does not work cases: the page offers QA the signature once the desk has closed the case."""
    open_case, closed_case = quality_case(world), quality_case(world, closed=True, title="已关闭")
    _signed_in(client, world["qa"])
    assert 'id="sign-form"' not in client.get(f"/service/cases/{open_case.pk}/").content.decode()
    assert 'id="sign-form"' in client.get(f"/service/cases/{closed_case.pk}/").content.decode()
    assert _sign(client, open_case, username="qa", password=DEMO_PASSWORD).status_code == 403
    assert not Signature.objects.exists()
