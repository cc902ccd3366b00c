"""Test-wide fixtures: personas (healthchecks/Zulip style) over a small organisation.

rep_east (Shanghai, team 华东一组) and rep_west (Chengdu, team 西南一组) each own
an institution; manager_east manages 华东一组; regional_east covers Shanghai;
head-office roles see everything.
"""

from __future__ import annotations

from typing import Any

import pytest

DEMO_PASSWORD = "pharmacrm-demo"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """pytest-django's test database, and at the end no stray session left to block dropping it.

    Tests that kill a worker process (kill -9 during an import) or run a live server leave
    PostgreSQL sessions behind for a moment; ``DROP DATABASE`` would then warn and keep it.
    """
    yield django_db_setup
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture
def org(db: Any) -> dict[str, Any]:
    from pharmacrm.customers.services import create_institution
    from pharmacrm.org.models import Division
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_team, create_user

    if not Division.objects.exists():  # a transactional test's flush empties migration-loaded tables
        from pharmacrm.core.querysets import allow_bulk_writes
        from pharmacrm.org.divisions import load_divisions

        with allow_bulk_writes():
            load_divisions(Division)
    from django.contrib.auth.models import Group

    if not Group.objects.filter(permissions__isnull=False).exists():  # likewise what post_migrate created
        from django.core.management.sql import emit_post_migrate_signal

        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    company = create_team(actor=None, name="销售部")
    east = create_team(actor=None, name="华东一组", parent=company)
    west = create_team(actor=None, name="西南一组", parent=company)
    shanghai = Division.objects.get(pk="310000")
    chengdu = Division.objects.get(pk="510100")

    def user(username: str, role: str, team: Any = None, territories: list[Any] | None = None) -> Any:
        return create_user(actor=None, username=username, full_name=username, role=role, team=team,
                           email=f"{username}@example.com", password=DEMO_PASSWORD, territories=territories)

    people = {
        "rep_east": user("rep_east", Role.REP, east, [shanghai]),
        "rep_west": user("rep_west", Role.REP, west, [chengdu]),
        "manager_east": user("manager_east", Role.MANAGER, east),
        "regional_east": user("regional_east", Role.REGIONAL_MANAGER, company, [shanghai]),
        "steward": user("steward", Role.STEWARD, company),
        "compliance": user("compliance", Role.COMPLIANCE, company),
        "leader": user("leader", Role.LEADER, company),
        "admin": user("admin", Role.ADMIN, company),
    }
    east.manager = people["manager_east"]
    from pharmacrm.core.audit import audited_update

    audited_update(east, actor=None, changes={"manager": people["manager_east"]})
    steward = people["steward"]
    people["institution_east"] = create_institution(
        actor=steward, name="复旦大学附属中山医院", kind="public_hospital", hospital_grade="3A", status="active",
        division=Division.objects.get(pk="310104"), owner=people["rep_east"])
    people["institution_west"] = create_institution(
        actor=steward, name="四川大学华西医院", kind="public_hospital", hospital_grade="3A", status="active",
        division=Division.objects.get(pk="510107"), owner=people["rep_west"])
    people["teams"] = {"company": company, "east": east, "west": west}
    return people


@pytest.fixture
def rep_east(org: dict[str, Any]) -> Any:
    return org["rep_east"]


@pytest.fixture
def rep_west(org: dict[str, Any]) -> Any:
    return org["rep_west"]


@pytest.fixture
def admin_user(org: dict[str, Any]) -> Any:
    return org["admin"]


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


def login(client: Any, user: Any) -> Any:
    """Sign a test client in, with the second factor marked verified for admin roles."""
    client.force_login(user)
    if getattr(user, "role", "") == "admin":
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture(autouse=True)
def _audit_guard_for_transactional_tests(request: Any) -> Any:
    """Transactional tests end with a table flush, which the append-only guard refuses.

    Re-install the guard before such a test (so it is really tested) and lift it
    just before pytest-django flushes the tables.
    """
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        yield
        return
    request.getfixturevalue("transactional_db")
    from django.db import connection

    from pharmacrm.core.dbguards import install_audit_guard, remove_audit_guard

    install_audit_guard(connection)
    yield
    remove_audit_guard(connection)
