"""Check 14 — session lifecycle (ASVS 7.2.4, 7.4.1–7.4.3).

Pass criterion (RELIABILITY.md): the session key changes at login; after logout the old cookie → redirect/401;
idle beyond the timeout → re-authentication; deactivating a user kills all their sessions (and their API token);
a password change kills the user's other sessions (and API token) and keeps the current one.

Sessions are Django's database sessions; a session authenticates only while its hash matches the user's
(``org.models.User._get_session_auth_hash``: the password hash and the session generation, which deactivation
raises). Each guard is switched off once to show that the check notices.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import DEMO_PASSWORD, login
from pharmacrm.org import services
from pharmacrm.org.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Zx8!another-password"


def _login(client: Client, username: str = "rep_east", password: str = DEMO_PASSWORD) -> Client:
    assert client.post("/login/", {"username": username, "password": password}).status_code == 302
    return client


def _signed_in(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def _api_authenticated(cookie_value: str) -> int:
    api = APIClient()
    api.cookies[settings.SESSION_COOKIE_NAME] = cookie_value
    return api.get("/api/v1/notifications/").status_code


def test_session_key_changes_at_login(client: Client, org: dict[str, Any]) -> None:
    client.get("/login/")
    session = client.session
    session["before"] = "anonymous"
    session.save()
    before = session.session_key
    _login(client)
    after = client.session.session_key
    assert after and after != before
    assert _api_authenticated(before) in (401, 403)  # the pre-login key is no session of the user


def test_after_logout_the_old_cookie_is_refused(client: Client, org: dict[str, Any]) -> None:
    _login(client)
    old = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old
    response = replay.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert _api_authenticated(old) == 401


def test_idle_beyond_the_timeout_needs_a_new_login(client: Client, org: dict[str, Any]) -> None:
    idle = datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(client)
        traveller.shift(idle - datetime.timedelta(minutes=1))
        assert _signed_in(client)
        traveller.shift(idle + datetime.timedelta(seconds=61))
        response = client.get("/customers/institutions/")
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert not _signed_in(client)


def _deactivation_kills_everything(org: dict[str, Any]) -> bool:
    """Two browsers and a token of rep_east; an admin deactivates, then reactivates the account."""
    user = org["rep_east"]
    browsers = [_login(Client()), _login(Client())]
    cookies = [browser.cookies[settings.SESSION_COOKIE_NAME].value for browser in browsers]
    token = services.issue_api_token(user)
    services.set_active(actor=org["admin"], user=User.objects.get(pk=user.pk), active=False, reason="离职")
    services.set_active(actor=org["admin"], user=User.objects.get(pk=user.pk), active=True, reason="返聘")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    revived = [cookie for cookie in cookies if _api_authenticated(cookie) == 200]
    return not revived and api.get("/api/v1/notifications/").status_code == 401 and not any(
        _signed_in(browser) for browser in browsers)


def test_deactivation_kills_all_sessions_and_the_token(org: dict[str, Any]) -> None:
    user = org["rep_east"]
    browser = _login(Client())
    services.set_active(actor=org["admin"], user=User.objects.get(pk=user.pk), active=False, reason="离职")
    assert not _signed_in(browser)  # at once, while deactivated
    services.set_active(actor=org["admin"], user=User.objects.get(pk=user.pk), active=True, reason="返聘")
    assert _deactivation_kills_everything(org)  # and none revives at the reactivation


def test_deactivation_check_notices_sessions_that_revive(org: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: a session hash without the generation lets the old sessions revive after reactivation."""
    from django.contrib.auth.base_user import AbstractBaseUser

    monkeypatch.setattr(User, "_get_session_auth_hash", AbstractBaseUser._get_session_auth_hash)
    assert not _deactivation_kills_everything(org)


def test_password_change_keeps_this_session_and_kills_the_others(org: dict[str, Any]) -> None:
    here, elsewhere = _login(Client()), _login(Client())
    token = services.issue_api_token(org["rep_east"])
    response = here.post("/password/", {"old_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD,
                                               "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/notifications/").status_code == 401
    _login(Client(), password=NEW_PASSWORD)


def test_password_reset_kills_every_session(org: dict[str, Any], mailoutbox: list[Any]) -> None:
    import re

    browser = _login(Client())
    Client().post("/password/reset/", {"email": "rep_east@example.com"})
    link = re.search(r"https?://[^/\s]+(/password/reset/\S+)", mailoutbox[-1].body).group(1)
    resetter = Client()
    form = resetter.get(link, follow=True)
    resetter.post(form.redirect_chain[-1][0] if form.redirect_chain else link,
                  {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(pk=org["rep_east"].pk).check_password(NEW_PASSWORD)
    assert not _signed_in(browser)


def test_admin_can_end_sessions_from_the_people_page(client: Client, org: dict[str, Any]) -> None:
    """The deactivation used above is the one the people page and the API call (org.services.set_active)."""
    login(client, org["admin"])
    browser = _login(Client())
    user = org["rep_east"]
    response = client.post(f"/org/users/{user.pk}/active/", {"active": "0", "reason": "离职"})
    assert response.status_code == 302
    assert not _signed_in(browser)
