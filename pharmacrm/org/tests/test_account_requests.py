"""Account requests: a manager asks, an administrator signs off, the user is created (UI and API)."""

from __future__ import annotations

from typing import Any

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.approvals import content_hash, signature_is_valid
from pharmacrm.core.models import ApprovalRequest, AuditAction, AuditEntry, Notification, Signature
from pharmacrm.org.account_requests import ACCOUNT_REQUEST_KIND, approval_of, request_account
from pharmacrm.org.models import AccountRequest, User


def _form(org: dict[str, Any], username: str = "new_rep", **extra: Any) -> dict[str, Any]:
    return {"username": username, "full_name": "王新", "email": "wang@example.com", "role": "rep",
            "team": org["teams"]["east"].pk, "territories": ["310000"], "justification": "华东一组新人入职", **extra}


def test_full_flow_through_the_pages(client: Any, org: dict[str, Any]) -> None:
    login(client, org["manager_east"])
    assert client.get("/accounts/requests/new/").status_code == 200
    response = client.post("/accounts/requests/new/", _form(org))
    account_request = AccountRequest.objects.get(username="new_rep")
    assert response.status_code == 302 and response["Location"] == account_request.get_absolute_url()
    assert list(account_request.territories.values_list("pk", flat=True)) == ["310000"]
    assert AuditEntry.objects.for_object(account_request).filter(action=AuditAction.CREATE).exists()
    approval = approval_of(account_request)
    assert "new_rep" in client.get("/accounts/requests/").content.decode()
    assert approval_of(account_request).title in client.get("/approvals/?tab=mine").content.decode()
    detail = client.get(account_request.get_absolute_url()).content.decode()
    assert approval.get_absolute_url() in detail

    login(client, org["admin"])
    assert approval.title in client.get("/approvals/").content.decode()
    assert client.get("/").context["awaiting_approval_count"] == 1
    url = f"/approvals/{approval.pk}/decide/"
    wrong = client.post(url, {"decision": "approve", "comment": "", "password": "not-my-password"})
    assert wrong.status_code == 403
    assert not Signature.objects.exists() and not User.objects.filter(username="new_rep").exists()
    assert AuditEntry.objects.for_object(approval).filter(action=AuditAction.SIGN_FAILED,
                                                          actor=org["admin"]).count() == 1
    signed_hash = content_hash(account_request)
    done = client.post(url, {"decision": "approve", "comment": "欢迎", "username": "admin", "password": DEMO_PASSWORD})
    assert done.status_code == 302

    account_request.refresh_from_db()
    user = User.objects.get(username="new_rep")
    assert account_request.status == "approved" and account_request.created_user == user
    assert user.role == "rep" and user.team == org["teams"]["east"] and not user.has_usable_password()
    assert list(user.territories.values_list("pk", flat=True)) == ["310000"]
    signature = approval_of(account_request).steps.get().signature
    assert (signature.printed_name, signature.meaning, signature.content_hash) == (
        org["admin"].get_full_name(), "approval", signed_hash)
    assert signature_is_valid(signature, account_request)
    assert AuditEntry.objects.for_object(account_request).filter(action=AuditAction.TRANSITION).exists()
    assert AuditEntry.objects.for_object(user).filter(action=AuditAction.CREATE, actor=org["admin"]).exists()
    assert Notification.objects.filter(recipient=org["manager_east"], url=account_request.get_absolute_url()).exists()
    assert client.get("/").context["awaiting_approval_count"] == 0


def test_rejection_needs_a_comment_and_notifies(client: Any, org: dict[str, Any]) -> None:
    account_request = request_account(actor=org["manager_east"], username="maybe", full_name="x",
                                      email="x@example.com", role="rep", team=org["teams"]["east"],
                                      territories=[], justification="x")
    approval = approval_of(account_request)
    login(client, org["admin"])
    url = f"/approvals/{approval.pk}/decide/"
    refused = client.post(url, {"decision": "reject", "comment": "", "username": "admin", "password": DEMO_PASSWORD})
    assert refused.status_code == 400 and not Signature.objects.exists()
    assert client.post(url, {"decision": "reject", "comment": "编制已满", "username": "admin",
                             "password": DEMO_PASSWORD}).status_code == 302
    account_request.refresh_from_db()
    assert account_request.status == "rejected" and account_request.created_user is None
    assert not User.objects.filter(username="maybe").exists()
    assert approval_of(account_request).steps.get().signature.meaning == "rejection"
    assert Notification.objects.filter(recipient=org["manager_east"], body="编制已满").exists()


def test_rep_cannot_request_or_see_others_requests(client: Any, api_client: Any, org: dict[str, Any]) -> None:
    account_request = request_account(actor=org["manager_east"], username="someone", full_name="x",
                                      email="x@example.com", role="rep", team=org["teams"]["east"],
                                      territories=[], justification="x")
    login(client, org["rep_east"])
    assert client.get("/accounts/requests/new/").status_code == 403
    assert client.post("/accounts/requests/new/", _form(org, "sneaky")).status_code == 403
    assert client.get(account_request.get_absolute_url()).status_code == 404
    assert client.get(approval_of(account_request).get_absolute_url()).status_code == 404
    api_client.force_authenticate(org["rep_east"])
    assert api_client.post("/api/v1/account-requests/", _form(org, "sneaky"), format="json").status_code == 403
    assert api_client.get(f"/api/v1/account-requests/{account_request.pk}/").status_code == 404
    assert not AccountRequest.objects.filter(username="sneaky").exists()


def test_duplicate_username_is_a_field_error(client: Any, api_client: Any, org: dict[str, Any]) -> None:
    login(client, org["manager_east"])
    taken = client.post("/accounts/requests/new/", _form(org, "rep_west"))
    assert taken.status_code == 400 and "username" in taken.context["form"].errors
    assert client.post("/accounts/requests/new/", _form(org, "pending_one")).status_code == 302
    again = client.post("/accounts/requests/new/", _form(org, "pending_one"))
    assert again.status_code == 400 and "username" in again.context["form"].errors
    api_client.force_authenticate(org["manager_east"])
    response = api_client.post("/api/v1/account-requests/", _form(org, "REP_EAST"), format="json")
    assert response.status_code == 400 and "username" in response.json()["error"]["fields"]


def test_api_flow(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["manager_east"])
    created = api_client.post("/api/v1/account-requests/", _form(org, "api_rep"), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "pending" and body["requested_by"] == org["manager_east"].pk
    assert [row["id"] for row in api_client.get("/api/v1/account-requests/").json()["results"]] == [body["id"]]

    api_client.force_authenticate(org["admin"])
    url = f"/api/v1/approvals/{body['approval']}/decide/"
    wrong = api_client.post(url, {"approve": True, "password": "nope"}, format="json")
    assert wrong.status_code == 403 and set(wrong.json()["error"]) >= {"code", "message"}
    assert not User.objects.filter(username="api_rep").exists()
    ok = api_client.post(url, {"approve": True, "comment": "", "username": "admin", "password": DEMO_PASSWORD}, format="json")
    assert ok.status_code == 200
    detail = api_client.get(f"/api/v1/account-requests/{body['id']}/").json()
    assert detail["status"] == "approved" and detail["created_user"] == User.objects.get(username="api_rep").pk


def test_signature_reported_invalid_after_edit_in_api(api_client: Any, org: dict[str, Any]) -> None:
    from pharmacrm.core.approvals import decide
    from pharmacrm.core.audit import audited_update

    account_request = request_account(actor=org["manager_east"], username="edited", full_name="x",
                                      email="x@example.com", role="rep", team=org["teams"]["east"],
                                      territories=[], justification="x")
    approval = ApprovalRequest.objects.get(kind=ACCOUNT_REQUEST_KIND, subject_id=str(account_request.pk))
    decide(actor=org["admin"], approval=approval, approve=True, comment="", password=DEMO_PASSWORD)
    audited_update(AccountRequest.objects.get(pk=account_request.pk), actor=org["admin"],
                   changes={"full_name": "改过的名字"})
    api_client.force_authenticate(org["admin"])
    step = api_client.get(f"/api/v1/approvals/{approval.pk}/").json()["steps"][0]
    assert step["signature"]["valid"] is False


def test_new_user_chooses_a_password_from_the_emailed_link(client: Any, org: dict[str, Any],
                                                           django_capture_on_commit_callbacks: Any) -> None:
    import re

    from django.core import mail

    from pharmacrm.core.approvals import decide

    account_request = request_account(actor=org["manager_east"], username="rep_new", full_name="赵新",
                                      email="zhao@example.com", role="rep", team=org["teams"]["east"],
                                      territories=[], justification="新员工入职")
    with django_capture_on_commit_callbacks(execute=True):
        decide(actor=org["admin"], approval=approval_of(account_request), approve=True, comment="",
               password=DEMO_PASSWORD)
    message = next(m for m in mail.outbox if m.to == ["zhao@example.com"])
    link = re.search(r"https?://[^/\s]+(/password/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
                           {"new_password1": "Zx8!chosen-password", "new_password2": "Zx8!chosen-password"})
    assert response.status_code == 302
    assert User.objects.get(username="rep_new").check_password("Zx8!chosen-password")
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once
    assert client.post("/login/", {"username": "rep_new", "password": "Zx8!chosen-password"}).status_code == 302
