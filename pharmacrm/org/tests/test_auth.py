"""Sign-in: audit of logins, lockout, session expiry, TOTP for admins, API tokens, language."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.models import AuditEntry


def test_login_and_failed_login_are_audited(client: Client, org: dict[str, Any]) -> None:
    client.post("/login/", {"username": "rep_east", "password": "wrong"})
    failed = AuditEntry.objects.filter(action="login_failed").latest("id")
    assert failed.object_repr == "rep_east"
    response = client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action="login").latest("id")
    assert entry.actor_id == org["rep_east"].pk
    assert entry.ip_address == "127.0.0.1"


def test_sixth_attempt_is_locked_even_with_the_right_password(client: Client, org: dict[str, Any]) -> None:
    for _ in range(5):
        client.post("/login/", {"username": "rep_east", "password": "wrong"})
    response = client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="lockout", object_repr="rep_east").exists()
    assert org["admin"].notifications.filter(title__contains="rep_east").exists()


def test_session_key_changes_at_login(client: Client, org: dict[str, Any]) -> None:
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD})
    assert client.session.session_key != before


@override_settings(SESSION_IDLE_TIMEOUT=60)
def test_idle_session_is_signed_out(client: Client, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    assert client.get("/").status_code == 200
    session = client.session
    session["last_activity"] = int(time.time()) - 120
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get("/").status_code == 302


def test_logout_ends_the_session(client: Client, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    client.post("/logout/")
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(action="logout", actor=org["rep_east"]).exists()


def test_password_change_is_audited_and_works(client: Client, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    response = client.post("/password/", {"old_password": DEMO_PASSWORD, "new_password1": "Xq7!long-enough-pw",
                                          "new_password2": "Xq7!long-enough-pw"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="password_change", actor=org["rep_east"]).exists()
    org["rep_east"].refresh_from_db()
    assert org["rep_east"].check_password("Xq7!long-enough-pw")


@override_settings(REQUIRE_ADMIN_2FA=True)
def test_admin_must_enrol_and_verify_totp(client: Client, org: dict[str, Any]) -> None:
    admin = org["admin"]
    client.force_login(admin)
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/2fa/")
    page = client.get("/2fa/")
    assert page.status_code == 200 and b"totp-secret" in page.content
    device = TOTPDevice.objects.get(user=admin)
    wrong = client.post("/2fa/", {"token": "000000" if totp(device.bin_key) != 0 else "111111"})
    assert wrong.status_code == 200 and "is-invalid" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # the wrong code above throttles the device, as it should
    token = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post("/2fa/?next=/audit/", {"token": token}).status_code == 302
    assert client.get("/audit/").status_code == 200


@override_settings(REQUIRE_ADMIN_2FA=True)
def test_rep_does_not_need_a_second_factor(client: Client, org: dict[str, Any]) -> None:
    client.force_login(org["rep_east"])
    assert client.get("/").status_code == 200


def test_api_token_sign_in(api_client: Any, org: dict[str, Any]) -> None:
    response = api_client.post("/api/v1/auth/token/", {"username": "rep_east", "password": DEMO_PASSWORD},
                               format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/institutions/").status_code == 200
    bad = api_client.post("/api/v1/auth/token/", {"username": "rep_east", "password": "nope"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_credentials"


@override_settings(REQUIRE_ADMIN_2FA=True)
def test_admin_token_needs_totp(api_client: Any, org: dict[str, Any]) -> None:
    device = TOTPDevice.objects.create(user=org["admin"], name="phone", confirmed=True)
    response = api_client.post("/api/v1/auth/token/", {"username": "admin", "password": DEMO_PASSWORD},
                               format="json")
    assert response.status_code == 400 and "otp" in response.json()["error"]["fields"]
    token = f"{totp(device.bin_key):06d}"
    ok = api_client.post("/api/v1/auth/token/", {"username": "admin", "password": DEMO_PASSWORD, "otp": token},
                         format="json")
    assert ok.status_code == 200


def test_anonymous_is_refused_everywhere(client: Client, api_client: Any, org: dict[str, Any]) -> None:
    for url in ("/", "/customers/institutions/", "/audit/", f"/customers/institutions/{org['institution_east'].pk}/"):
        assert client.get(url).status_code == 302
    for url in ("/api/v1/institutions/", "/api/v1/contacts/", "/api/v1/notifications/", "/api/v1/audit-entries/"):
        assert api_client.get(url).status_code in (401, 403)


@pytest.mark.parametrize(("language", "word"), [("en", "Institutions"), ("zh-hans", "机构")])
def test_user_switches_language(client: Client, org: dict[str, Any], language: str, word: str) -> None:
    login(client, org["rep_east"])
    client.post("/language/", {"language": language, "next": "/"})
    org["rep_east"].refresh_from_db()
    assert org["rep_east"].language == language
    assert word in client.get("/").content.decode()
