"""Approvals with electronic signatures (RELIABILITY.md check 6): re-authentication, manifest, hash binding."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.approvals import (
    SignatureRefused,
    awaiting_decision,
    content_hash,
    decide,
    request_approval,
    signature_is_valid,
)
from pharmacrm.core.audit import audited_update
from pharmacrm.core.models import ApprovalRequest, ApprovalStatus, AuditAction, AuditEntry, Notification, Signature
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.org.account_requests import ACCOUNT_REQUEST_KIND, request_account
from pharmacrm.org.models import AccountRequest


def _request(org: dict[str, Any], username: str = "new_rep") -> AccountRequest:
    return request_account(actor=org["manager_east"], username=username, full_name="新代表", email="n@example.com",
                           role="rep", team=org["teams"]["east"], territories=[], justification="新人入职")


def _approval(account_request: AccountRequest) -> ApprovalRequest:
    return ApprovalRequest.objects.get(kind=ACCOUNT_REQUEST_KIND, subject_id=str(account_request.pk))


def test_request_creates_steps_and_notifies_first_role(org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    assert [(s.position, s.role) for s in approval.steps.all()] == [(1, "admin")]
    assert approval.status == ApprovalStatus.PENDING and approval.requested_by == org["manager_east"]
    assert Notification.objects.filter(recipient=org["admin"], url=approval.get_absolute_url()).exists()
    assert list(awaiting_decision(org["admin"])) == [approval]
    assert not awaiting_decision(org["manager_east"]).exists()
    assert AuditEntry.objects.for_object(approval).filter(action=AuditAction.CREATE).count() == 1


def test_wrong_or_missing_password_signs_nothing_and_is_a_security_event(org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    for password in ("wrong", ""):
        with pytest.raises(SignatureRefused):
            decide(actor=org["admin"], approval=approval, approve=True, comment="", password=password)
    assert not Signature.objects.exists()
    failures = AuditEntry.objects.for_object(approval).filter(action=AuditAction.SIGN_FAILED)
    assert failures.count() == 2 and {f.actor_id for f in failures} == {org["admin"].pk}
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_correct_password_signs_and_completes(org: dict[str, Any]) -> None:
    account_request = _request(org)
    approval = _approval(account_request)
    signed_hash = content_hash(account_request)
    decide(actor=org["admin"], approval=approval, approve=True, comment="OK", password=DEMO_PASSWORD)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_at is not None
    step = approval.steps.get()
    assert step.decision == "approved" and step.decided_by == org["admin"] and step.comment == "OK"
    signature = step.signature
    assert signature.printed_name == org["admin"].get_full_name()
    assert signature.meaning == "approval" and signature.signer == org["admin"]
    assert signature.content_hash == signed_hash and len(signature.content_hash) == 64
    assert signature.object_id == str(account_request.pk)
    assert signature.signed_at.utcoffset().total_seconds() == 0
    # The handler's own status change does not invalidate the signature…
    assert signature_is_valid(signature, account_request)
    actions = set(AuditEntry.objects.for_object(step).values_list("action", flat=True))
    assert AuditAction.APPROVE in actions
    assert AuditEntry.objects.for_object(account_request).filter(action=AuditAction.SIGN).exists()
    assert AuditEntry.objects.for_object(signature).filter(action=AuditAction.CREATE).exists()
    assert AuditEntry.objects.for_object(approval).filter(action=AuditAction.TRANSITION).exists()
    # …and it cannot be decided twice.
    with pytest.raises(TransitionNotAllowed):
        decide(actor=org["admin"], approval=approval, approve=True, comment="", password=DEMO_PASSWORD)


def test_signature_invalid_after_edit_and_never_valid_for_another_record(org: dict[str, Any]) -> None:
    first, second = _request(org, "first_rep"), _request(org, "second_rep")
    decide(actor=org["admin"], approval=_approval(first), approve=True, comment="", password=DEMO_PASSWORD)
    signature = _approval(first).steps.get().signature
    assert signature_is_valid(signature)
    assert not signature_is_valid(signature, second)
    audited_update(AccountRequest.objects.get(pk=first.pk), actor=org["admin"],
                   changes={"justification": "changed after signing"})
    assert not signature_is_valid(signature)


def test_rejection_needs_a_comment(org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    with pytest.raises(ValidationError) as error:
        decide(actor=org["admin"], approval=approval, approve=False, comment="  ", password=DEMO_PASSWORD)
    assert "comment" in error.value.message_dict
    assert not Signature.objects.exists()
    decide(actor=org["admin"], approval=approval, approve=False, comment="No budget", password=DEMO_PASSWORD)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED
    assert approval.steps.get().signature.meaning == "rejection"


def test_only_the_step_role_and_not_the_requester_decides(org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    for user in (org["manager_east"], org["leader"], org["rep_east"]):
        with pytest.raises(PermissionDenied):
            decide(actor=user, approval=approval, approve=True, comment="", password=DEMO_PASSWORD)
    own = request_account(actor=org["admin"], username="admin_own", full_name="x", email="x@example.com", role="rep",
                          team=org["teams"]["east"], territories=[], justification="x")
    with pytest.raises(PermissionDenied):
        decide(actor=org["admin"], approval=_approval(own), approve=True, comment="", password=DEMO_PASSWORD)
    assert not Signature.objects.exists()


def test_multi_step_approval_advances_in_order(org: dict[str, Any]) -> None:
    subject = _request(org)
    approval = request_approval(actor=org["manager_east"], subject=subject, kind=ACCOUNT_REQUEST_KIND,
                                title="two steps", roles=["leader", "admin"])
    assert awaiting_decision(org["leader"]).filter(pk=approval.pk).exists()
    assert not awaiting_decision(org["admin"]).filter(pk=approval.pk).exists()
    decide(actor=org["leader"], approval=approval, approve=True, comment="", password=DEMO_PASSWORD)
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING and approval.current_position == 2
    assert awaiting_decision(org["admin"]).filter(pk=approval.pk).exists()
    assert Notification.objects.filter(recipient=org["admin"], url=approval.get_absolute_url()).exists()


def test_pages_list_detail_and_decide(client: Any, org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    login(client, org["admin"])
    page = client.get("/approvals/")
    assert page.status_code == 200 and approval.title in page.content.decode()
    assert client.get("/approvals/?tab=all").status_code == 200
    detail = client.get(f"/approvals/{approval.pk}/")
    assert detail.status_code == 200 and 'id="decide-form"' in detail.content.decode()
    url = f"/approvals/{approval.pk}/decide/"
    wrong = client.post(url, {"decision": "approve", "password": "nope"})
    assert wrong.status_code == 403 and "is-invalid" in wrong.content.decode()
    missing = client.post(url, {"decision": "reject", "comment": "", "username": "admin", "password": DEMO_PASSWORD})
    assert missing.status_code == 400 and "is-invalid" in missing.content.decode()
    assert not Signature.objects.exists()
    done = client.post(url, {"decision": "approve", "username": "admin", "password": DEMO_PASSWORD}, follow=True)
    body = done.content.decode()
    assert done.status_code == 200 and "signature-manifest" in body and "UTC" in body
    assert 'id="decide-form"' not in body


def test_page_shows_invalidated_signature(client: Any, org: dict[str, Any]) -> None:
    account_request = _request(org)
    approval = _approval(account_request)
    decide(actor=org["admin"], approval=approval, approve=True, comment="", password=DEMO_PASSWORD)
    login(client, org["leader"])
    assert "Invalidated" not in client.get(f"/approvals/{approval.pk}/").content.decode()
    audited_update(AccountRequest.objects.get(pk=account_request.pk), actor=org["admin"], changes={"email": "z@example.com"})
    response = client.get(f"/approvals/{approval.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["manifest"][0]["valid"] is False


def test_others_cannot_see_or_decide(client: Any, org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    login(client, org["rep_east"])
    assert client.get(f"/approvals/{approval.pk}/").status_code == 404
    assert client.post(f"/approvals/{approval.pk}/decide/", {"decision": "approve",
                                                             "username": "admin", "password": DEMO_PASSWORD}).status_code == 404
    login(client, org["manager_east"])  # the requester sees it but cannot decide it
    assert 'id="decide-form"' not in client.get(f"/approvals/{approval.pk}/").content.decode()
    assert client.post(f"/approvals/{approval.pk}/decide/", {"decision": "approve",
                                                             "username": "admin", "password": DEMO_PASSWORD}).status_code == 403


def test_api_decide(api_client: Any, org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    api_client.force_authenticate(org["admin"])
    listing = api_client.get("/api/v1/approvals/?awaiting=1").json()
    assert [row["id"] for row in listing["results"]] == [approval.pk]
    url = f"/api/v1/approvals/{approval.pk}/decide/"
    wrong = api_client.post(url, {"approve": True, "password": "wrong"}, format="json")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "signature_refused"
    assert not Signature.objects.exists()
    assert AuditEntry.objects.for_object(approval).filter(action=AuditAction.SIGN_FAILED).count() == 1
    no_comment = api_client.post(url, {"approve": False, "username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["error"]["fields"]
    ok = api_client.post(url, {"approve": True, "username": "admin", "password": DEMO_PASSWORD, "signature": 999}, format="json")
    assert ok.status_code == 200, ok.json()
    step = ok.json()["steps"][0]
    assert ok.json()["status"] == "approved"
    assert step["signature"]["meaning"] == "approval" and step["signature"]["valid"] is True
    assert step["signature"]["printed_name"] == org["admin"].get_full_name()
    again = api_client.post(url, {"approve": True, "username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert again.status_code == 409


def test_api_hides_others_approvals(api_client: Any, org: dict[str, Any]) -> None:
    approval = _approval(_request(org))
    api_client.force_authenticate(org["rep_east"])
    assert api_client.get(f"/api/v1/approvals/{approval.pk}/").status_code == 404
    response = api_client.post(f"/api/v1/approvals/{approval.pk}/decide/",
                               {"approve": True, "username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 404
