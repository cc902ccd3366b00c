"""Check 15 — brute force and alerting on the login and the signing endpoints (21 CFR 11.300(d); ASVS 6.3.1,
16.3.1).

Pass criterion (RELIABILITY.md): the 6th attempt within the window after 5 failures → 429 / locked even with the
correct password; each success and failure is logged with user, IP and time; a lockout raises a security event
and a notification to the administrators.

Login: django-axes (by username, ``AXES_FAILURE_LIMIT`` in ``AXES_COOLOFF_TIME``) on the login page and the API
token endpoint. Signing: ``core.signatures`` counts a user's failed signings (``SIGN_FAILED`` audit entries since
their last signing, within the same window) and locks signing — page and API — whatever the password. Each
guard is switched off once to show that the check notices.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from conftest import DEMO_PASSWORD
from pharmacrm.core import signatures
from pharmacrm.core.models import AuditAction, AuditEntry, Notification, Signature
from pharmacrm.service.models import Case
from tests.reliability.signing import CLOSE, quality_case, sign_url, signers

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
COOLOFF = datetime.timedelta(hours=settings.AXES_COOLOFF_TIME)


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return signers(org)


def _logged(entry: AuditEntry) -> bool:
    """user, IP and time on the entry"""
    return bool((entry.actor_id or entry.object_repr) and entry.ip_address and entry.created_at)


# --- login -----------------------------------------------------------------------------------------------------


def _login_locks_after_limit(client: Any) -> bool:
    for attempt in range(1, LIMIT + 1):  # axes answers the failure that reaches the limit with the lockout page
        expected = (200, 429) if attempt == LIMIT else (200,)
        assert client.post("/login/", {"username": "rep_east", "password": "wrong"}).status_code in expected
    sixth = client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD})
    return sixth.status_code == 429 and "_auth_user_id" not in client.session


def test_sixth_login_is_locked_logged_and_alerted(client: Any, world: dict[str, Any]) -> None:
    assert client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD}).status_code == 302
    success = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert success.actor == world["rep_east"] and _logged(success)
    client.post("/logout/")
    assert _login_locks_after_limit(client)
    failures = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert failures.count() >= LIMIT and all(_logged(entry) and entry.object_repr == "rep_east" for entry in failures)
    lockouts = AuditEntry.objects.filter(action=AuditAction.LOCKOUT)  # each attempt while locked is audited
    assert lockouts.exists() and all(entry.object_repr == "rep_east" and entry.changes["locked"] == "login"
                                     and _logged(entry) for entry in lockouts)
    # the administrators are told once per lockout, not once per attempt of the run
    assert Notification.objects.filter(recipient=world["admin"], title__contains="rep_east").count() == 1
    with time_machine.travel(timezone.now() + COOLOFF + datetime.timedelta(minutes=1), tick=False):
        assert client.post("/login/", {"username": "rep_east", "password": DEMO_PASSWORD}).status_code == 302


def test_login_check_notices_a_login_without_lockout(client: Any, world: dict[str, Any]) -> None:
    """Guard off: without axes the 6th attempt with the right password signs in."""
    with override_settings(AXES_ENABLED=False):
        assert not _login_locks_after_limit(client)


def test_api_token_endpoint_locks_too(api_client: Any, world: dict[str, Any]) -> None:
    url = "/api/v1/auth/token/"
    for attempt in range(1, LIMIT + 1):
        expected = (400, 429) if attempt == LIMIT else (400,)
        assert api_client.post(url, {"username": "rep_east", "password": "wrong"},
                               format="json").status_code in expected
    sixth = api_client.post(url, {"username": "rep_east", "password": DEMO_PASSWORD}, format="json")
    assert sixth.status_code == 429 and "token" not in sixth.json()


# --- signing ---------------------------------------------------------------------------------------------------


def _signing_locks_after_limit(client: Any, case: Case) -> bool:
    for _ in range(LIMIT):
        refused = client.post(sign_url(case), {**CLOSE, "username": "agent", "password": "wrong"},
                              content_type="application/json")
        assert refused.status_code == 403
    sixth = client.post(sign_url(case), {**CLOSE, "username": "agent", "password": DEMO_PASSWORD},
                        content_type="application/json")
    return sixth.status_code == 429 and not Signature.objects.exists()


def _login(client: Any, username: str) -> None:
    client.logout()
    assert client.post("/login/", {"username": username, "password": DEMO_PASSWORD}).status_code == 302


def test_sixth_signing_is_locked_logged_and_alerted(client: Any, world: dict[str, Any]) -> None:
    case = quality_case(world)
    _login(client, "agent")
    assert _signing_locks_after_limit(client, case)
    failures = AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, actor=world["agent"])
    assert failures.count() == LIMIT + 1 and all(_logged(entry) for entry in failures)
    assert failures.order_by("-id").first().changes["reason"] == "locked"
    lockout = AuditEntry.objects.get(action=AuditAction.LOCKOUT)  # one event, not one per refused attempt
    assert lockout.object_repr == "agent" and lockout.changes["locked"] == "signing" and lockout.ip_address
    assert Notification.objects.filter(recipient=world["admin"], title__contains="agent").count() == 1
    # the page is locked as well, and the lock is the signer's, not everyone's
    page = client.post(f"/service/cases/{case.pk}/sign/", {**CLOSE, "username": "agent", "password": DEMO_PASSWORD})
    assert page.status_code == 429
    _login(client, "qa")
    closed = quality_case(world, closed=True, title="已关闭")
    assert client.post(sign_url(closed), {"meaning": "approval", "username": "qa", "password": DEMO_PASSWORD},
                       content_type="application/json").status_code == 201
    # after the cool-off the agent signs again; a success clears the count
    with time_machine.travel(timezone.now() + COOLOFF + datetime.timedelta(minutes=1), tick=False):
        _login(client, "agent")
        assert client.post(sign_url(case), {**CLOSE, "username": "agent", "password": DEMO_PASSWORD},
                           content_type="application/json").status_code == 201
        assert signatures.recent_failures(world["agent"]) == 0
    successes = AuditEntry.objects.filter(action=AuditAction.SIGN)
    assert successes.count() == 2 and all(_logged(entry) and entry.actor_id for entry in successes)


def test_a_success_resets_the_count(client: Any, world: dict[str, Any]) -> None:
    first, second = quality_case(world, title="批次 1"), quality_case(world, title="批次 2")
    _login(client, "agent")
    for case in (first, second):
        for _ in range(LIMIT - 1):
            client.post(sign_url(case), {**CLOSE, "username": "agent", "password": "wrong"},
                        content_type="application/json")
        assert client.post(sign_url(case), {**CLOSE, "username": "agent", "password": DEMO_PASSWORD},
                           content_type="application/json").status_code == 201
    assert not AuditEntry.objects.filter(action=AuditAction.LOCKOUT).exists()


def test_signing_check_notices_a_signing_without_lockout(client: Any, world: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: without the signing lock the 6th attempt with the right password signs."""
    monkeypatch.setattr(signatures, "is_locked", lambda actor: False)
    case = quality_case(world)
    _login(client, "agent")
    assert not _signing_locks_after_limit(client, case)
