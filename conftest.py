"""Test-wide fixtures: personas (healthchecks/Zulip style) over a small organisation, and the suite's database.

rep_east (Shanghai, team 华东一组) and rep_west (Chengdu, team 西南一组) each own
an institution; manager_east manages 华东一组; regional_east covers Shanghai;
head-office roles see everything.

The database is migrated once into a template and cloned per xdist worker; every test starts from the migrated
rows, and the personas are written once per worker and replayed (``tests/dbstate.py`` says how and why).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests import dbstate

DEMO_PASSWORD = "pharmacrm-demo"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

#: this worker's migrated rows, read once its database is cloned
_BASE: dbstate.BaseState | None = None


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--db-only", action="store_true",
                     help="run only the tests that use the database (CI's second engine: the rest ran on the first)")


def pytest_configure(config: Any) -> None:
    from tests.reliability.battery import VerdictCollector

    if not config.pluginmanager.has_plugin("reliability-verdicts"):
        config.pluginmanager.register(VerdictCollector(), "reliability-verdicts")


def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    if config.pluginmanager.has_plugin("randomly"):  # make test PYTEST_ARGS="-p randomly"
        seed = config.option.randomly_seed
        terminalreporter.write_line(f"tests ran in a random order; -p randomly --randomly-seed={seed} repeats it")


def uses_database(item: Any) -> bool:
    from pytest_django.fixtures import _get_databases_for_test

    databases, _serialized = _get_databases_for_test(item)
    return bool(databases) or any(mark.name == "engine" for mark in item.iter_markers())


def _rename(item: Any, nodeid: str) -> None:
    """Give a test another id (pytest 9.2 keeps it as a parsed ``NodeId`` in ``_id``)."""
    item._id = type(item._id).parse(nodeid)


def group_of(item: Any) -> str | None:
    """Tests that share something costly run one after another in one worker: the browser journeys one Chromium,
    the API-wide reliability checks one seeded demo company (each released after the group's last test)."""
    if item.get_closest_marker("browser"):
        return "browser"
    if "seeded_company" in getattr(item, "fixturenames", ()):
        return "company"
    return None


#: the test after the one being torn down (None after the last): a group's shared things go when it is outside
following: Any = None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Every test gets an id of its own (schemathesis names each operation's test after the function alone, and
    pytest-xdist sends work by id); browser journeys count as slow; the tests of a group get ``@group`` ids and run
    together; groups first, then the modules with slow tests, so that the long units of work start early and no
    worker waits for another at the end; ``--db-only`` leaves out the tests that never open a connection."""
    seen: set[str] = set()
    for item in items:
        if item.nodeid in seen:
            _rename(item, f"{item.parent.nodeid}::{item.name}")
        seen.add(item.nodeid)
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        if group := group_of(item):
            _rename(item, f"{item.nodeid}@{group}")
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: 0 if group_of(item) else 1 if item.module in slow_modules else 2)
    if config.getoption("--db-only"):
        kept = [item for item in items if uses_database(item)]
        config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
        items[:] = kept


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """Work goes to the workers a module at a time (a module's fixtures are built once) and a group at a time (ids
    ending in ``@group``), in the order of the collection (see ``pytest_collection_modifyitems``)."""
    from xdist.scheduler import LoadGroupScheduling, LoadScopeScheduling

    class ModuleOrGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            return LoadScopeScheduling._split_scope(self, nodeid)

    if config.getvalue("dist") != "loadgroup":
        return None
    config.option.loadscopereorder = False
    return ModuleOrGroupScheduling(config, log)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: Any, django_db_blocker: Any,
                    django_db_modify_db_settings: Any) -> Any:
    """This worker's test database, cloned from the migrated template (built first when missing)."""
    global _BASE
    from django.db import connection
    from django.test import TransactionTestCase

    with django_db_blocker.unblock():
        database = dbstate.setup_test_database()
        _BASE = dbstate.BaseState.read(connection)
    flush = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _back_to_migrated
    yield database
    TransactionTestCase._fixture_teardown = flush
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            # Tests that kill a worker process or run a live server leave sessions behind for a moment.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        dbstate.teardown_test_database(database)


def _back_to_migrated(test_case: Any) -> None:
    """In place of the flush that ends a transactional test (``TransactionTestCase._fixture_teardown``): every
    table put back as migrated, guards included — what the flush would leave and more (it keeps full-text rows and
    needs the guards lifted), in a fraction of its time on PostgreSQL (no TRUNCATE of every table, no post-migrate
    signal)."""
    from django.db import connections

    for alias in test_case._databases_names(include_mirrors=False):
        _BASE.restore(connections[alias])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: Any, nextitem: Any) -> Any:
    """After the browser group's last test, Chromium stops (the seeded company goes with its module fixture)."""
    global following
    following = nextitem
    try:
        return (yield)
    finally:
        if nextitem is None or group_of(nextitem) != "browser":
            chromium.stop()


class Chromium:
    """Debian's headless Chromium through Playwright, started by the first browser journey of a worker and stopped
    after the last (they run one after another). Playwright's sync API keeps an event loop on this thread, so
    Django's check against database calls from async code is lifted exactly that long."""

    ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync")

    def __init__(self) -> None:
        self.playwright: Any = None
        self.browser: Any = None

    def page(self, width: int, height: int) -> Any:
        """A page in a context of its own: no cookie or storage of an earlier journey."""
        if self.browser is None:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                           args=list(self.ARGS))
        context = self.browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
        return context.new_page()

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.playwright.stop()
            self.browser = self.playwright = None
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


chromium = Chromium()


@pytest.fixture
def browser_page() -> Any:
    """A desktop-sized page (request ``org`` and ``live_server`` before it)."""
    page = chromium.page(1280, 800)
    yield page
    page.context.close()


@pytest.fixture
def phone_page() -> Any:
    """A phone-sized page (390 × 844)."""
    page = chromium.page(390, 844)
    yield page
    page.context.close()


def build_personas() -> dict[str, Any]:
    from pharmacrm.core.audit import audited_update
    from pharmacrm.customers.services import create_institution
    from pharmacrm.org.models import Division
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_team, create_user

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


#: the personas, written by ``build_personas`` once per worker and replayed for every other test that asks
personas = dbstate.Replayed(build_personas)


@pytest.fixture
def org(db: Any) -> dict[str, Any]:
    return personas()


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
