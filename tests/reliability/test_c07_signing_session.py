"""Check 7 — session continuity for signing (21 CFR 11.200(a)(1)(i–ii); ASVS 7.3.1).

Pass criterion (RELIABILITY.md): after the idle timeout or a logout, signing requires the username **and** the
password; within a continuous session only the password.

"First signing in a session" (11.200(a)(1)(i)): the first signing after a login gives both components; later
signings in the same continuous session (no logout, no idle timeout, no new login) give the password only
((ii)). A token-authenticated API call has no continuous session: it always gives both. Time runs through
``time-machine``; the idle timeout is ``SESSION_IDLE_TIMEOUT`` enforced by ``org.middleware``. Each guard is
switched off once to show that the check notices.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from conftest import DEMO_PASSWORD
from pharmacrm.core import signatures
from pharmacrm.core.models import AuditAction, AuditEntry, Signature
from pharmacrm.service.models import Case
from tests.reliability.signing import CLOSE, quality_case, sign_url, signers

pytestmark = pytest.mark.django_db

IDLE = datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return signers(org)


def _login(client: Any, username: str = "agent") -> None:
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code


def _sign(client: Any, case: Case, **components: Any) -> int:
    return client.post(sign_url(case), {**CLOSE, **components}, content_type="application/json").status_code


def _password_only(client: Any, case: Case) -> int:
    return _sign(client, case, password=DEMO_PASSWORD)


def _both(client: Any, case: Case) -> int:
    return _sign(client, case, username="agent", password=DEMO_PASSWORD)


def test_first_signing_after_login_needs_both_then_the_password_only(client: Any, world: dict[str, Any]) -> None:
    first, second, third = (quality_case(world, title=f"批次 {n}") for n in range(3))
    _login(client)
    page = client.get(f"/service/cases/{first.pk}/").content.decode()
    assert 'name="username"' in page  # the page asks for both at the first signing
    assert _password_only(client, first) == 403
    assert AuditEntry.objects.filter(action=AuditAction.SIGN_FAILED, changes__reason="missing username").exists()
    assert _sign(client, first, username="someone_else", password=DEMO_PASSWORD) == 403
    assert not Signature.objects.exists()
    assert _both(client, first) == 201
    assert _password_only(client, second) == 201  # same continuous session: one component
    page = client.get(f"/service/cases/{third.pk}/").content.decode()
    assert 'id="sign-form"' in page and 'name="username"' not in page
    assert _sign(client, third, password="wrong") == 403  # the one component is still checked


def _idle_timeout_demands_both(client: Any, world: dict[str, Any]) -> bool:
    """Sign with both, stay idle past the timeout, then: password-only is refused, both are accepted."""
    first, second = quality_case(world, title="批次 1"), quality_case(world, title="批次 2")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(client)
        assert _both(client, first) == 201
        traveller.shift(IDLE - datetime.timedelta(minutes=1))  # still within the session
        assert client.get("/").status_code == 200
        traveller.shift(IDLE + datetime.timedelta(minutes=1))  # idle past the timeout
        expired = _password_only(client, second)
        if expired == 201:
            return False
        assert expired == 401  # the API on an expired session: unauthenticated
        _login(client)
        refused, accepted = _password_only(client, second), _both(client, second)
    return refused == 403 and accepted == 201


def test_after_the_idle_timeout_signing_needs_both(client: Any, world: dict[str, Any]) -> None:
    assert _idle_timeout_demands_both(client, world)


def test_idle_check_notices_a_session_without_idle_timeout(client: Any, world: dict[str, Any]) -> None:
    """Guard off: with no idle timeout the session continues and the password alone signs after the pause."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "SESSION_IDLE_TIMEOUT", 10**9)
        assert not _idle_timeout_demands_both(client, world)


def test_idle_timeout_counts_from_the_login(client: Any, world: dict[str, Any]) -> None:
    """A session left idle straight after its login expires too (the clock starts at the login)."""
    case = quality_case(world)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(client)
        traveller.shift(IDLE + datetime.timedelta(minutes=1))
        assert _both(client, case) == 401
    assert not Signature.objects.exists()


def test_after_logout_signing_needs_both(client: Any, world: dict[str, Any]) -> None:
    first, second = quality_case(world, title="批次 1"), quality_case(world, title="批次 2")
    _login(client)
    assert _both(client, first) == 201
    client.post("/logout/")
    assert _password_only(client, second) in (401, 403)
    _login(client)
    assert _password_only(client, second) == 403
    assert _both(client, second) == 201


def test_continuity_check_notices_a_first_signing_with_the_password_only(client: Any, world: dict[str, Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard off: a session taken as always continuous lets the first signing after login pass on one component."""
    monkeypatch.setattr(signatures.Continuity, "covers", lambda self, actor: True)
    case = quality_case(world)
    _login(client)
    assert _password_only(client, case) == 201  # the check's first assertion would have failed


def test_a_token_has_no_continuous_session(api_client: Any, world: dict[str, Any]) -> None:
    from pharmacrm.org.services import issue_api_token

    first, second = quality_case(world, title="批次 1"), quality_case(world, title="批次 2")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(world['agent'])}")
    assert api_client.post(sign_url(first), {**CLOSE, "password": DEMO_PASSWORD}, format="json").status_code == 403
    assert api_client.post(sign_url(first), {**CLOSE, "username": "agent", "password": DEMO_PASSWORD},
                           format="json").status_code == 201
    # every signing through the token gives both, even right after one that did
    assert api_client.post(sign_url(second), {**CLOSE, "password": DEMO_PASSWORD}, format="json").status_code == 403
    assert api_client.post(sign_url(second), {**CLOSE, "username": "agent", "password": DEMO_PASSWORD},
                           format="json").status_code == 201


def test_another_users_continuity_does_not_carry_over(client: Any, world: dict[str, Any]) -> None:
    """A session where the agent signed, then QA logs in on the same browser: QA's first signing gives both."""
    first = quality_case(world)
    _login(client)
    assert _both(client, first) == 201
    client.post("/logout/")
    _login(client, "qa")
    assert _sign(client, first, meaning="approval", password=DEMO_PASSWORD) == 403
    assert _sign(client, first, meaning="approval", username="qa", password=DEMO_PASSWORD) == 201
