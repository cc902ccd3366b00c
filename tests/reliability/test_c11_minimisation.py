"""Check 11 — Minimisation and bulk-export approval (PIPL Art.6, GB/T 35273 §7.1).

Pass criterion: the field set each role gets from each API endpoint (and the contact export's columns)
equals the reviewed snapshot ``tests/reliability/c11_field_sets.json`` — any difference fails with the
diff and how to update after review; an export of more persons than ``privacy.bulk_export_threshold``
without approval → 403 with the reason and a link to request approval; once the DPO approves (an
electronic signature, ``core.approvals``) the export runs once and is logged with its approver.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from conftest import DEMO_PASSWORD, login
from tests.reliability.privacy_fixtures import dpo, make_user  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SNAPSHOT = Path(__file__).with_name("c11_field_sets.json")
UPDATE_HINT = ("Field sets changed. If the change is reviewed (each new personal field needs a purpose, PIPL Art.6), "
               "update the snapshot: UPDATE_FIELD_SNAPSHOT=1 pytest tests/reliability/test_c11_minimisation.py "
               "and commit tests/reliability/c11_field_sets.json with the review.")


def field_sets(users: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """role → endpoint → sorted output fields, for the endpoints the role may read."""
    from pharmacrm.api_urls import router
    from pharmacrm.customers.views import ContactListView

    result: dict[str, dict[str, list[str]]] = {}
    for role, user in sorted(users.items()):
        sets: dict[str, list[str]] = {}
        for prefix, viewset, _basename in router.registry:
            model = getattr(viewset, "model", None)
            serializer_class = getattr(viewset, "serializer_class", None)
            if model is None or serializer_class is None:
                continue
            if not user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
                continue
            sets[prefix] = sorted(serializer_class().fields)
        view = ContactListView()
        view.request = RequestFactory().get("/customers/contacts/")
        view.request.user = user
        if view.can_export():
            sets["ui:contacts.csv"] = [str(accessor) for _header, accessor in view.export_columns]
        result[role] = sets
    return result


def compare(current: dict[str, Any], reviewed: dict[str, Any]) -> str:
    """The unified diff between the reviewed and the current field sets ("" when equal)."""
    old = json.dumps(reviewed, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    new = json.dumps(current, indent=1, sort_keys=True, ensure_ascii=False).splitlines()
    return "\n".join(difflib.unified_diff(old, new, "reviewed", "current", lineterm=""))


@pytest.fixture
def role_users(org: dict[str, Any]) -> dict[str, Any]:
    from pharmacrm.org.roles import Role

    return {role.value: make_user(f"snap_{role.value}", role.value) for role in Role}


def test_field_sets_match_the_reviewed_snapshot(role_users: dict[str, Any]) -> None:
    current = field_sets(role_users)
    if os.environ.get("UPDATE_FIELD_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    reviewed = json.loads(SNAPSHOT.read_text())
    diff = compare(current, reviewed)
    assert not diff, f"{UPDATE_HINT}\n{diff}"


def test_the_snapshot_check_notices_a_new_field(role_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.customers.api.serializers import ContactSerializer

    monkeypatch.setattr(ContactSerializer.Meta, "fields", [*ContactSerializer.Meta.fields, "notes"])
    diff = compare(field_sets(role_users), json.loads(SNAPSHOT.read_text()))
    assert '+   "notes"' in diff or '+  "notes"' in diff or "notes" in diff


def _contacts(org: dict[str, Any], count: int) -> None:
    from pharmacrm.customers.services import create_contact

    for number in range(count):
        create_contact(actor=org["steward"], institution=org["institution_east"], name=f"医生{number}",
                       mobile=f"1380000{number:04d}")


def _body(response: Any) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_large_export_needs_the_dpos_approval(client: Any, org: dict[str, Any], dpo: Any) -> None:  # noqa: F811
    from pharmacrm.core import approvals, policy
    from pharmacrm.core.models import ApprovalRequest
    from pharmacrm.privacy.models import BulkExport, PersonalDataAccess
    from pharmacrm.privacy.policy import BULK_EXPORT_THRESHOLD

    policy.set_value(actor=org["admin"], key=BULK_EXPORT_THRESHOLD.key, value=2, effective_from=policy.today(),
                     reason="test")
    _contacts(org, 3)
    manager = org["manager_east"]
    login(client, manager)
    before = PersonalDataAccess.objects.count()
    refused = client.get("/customers/contacts/?format=csv")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "/privacy/exports/request/" in page and "3" in page
    assert PersonalDataAccess.objects.count() == before  # nothing left the system
    assert client.get("/customers/contacts/?format=csv&q=医生1").status_code == 200  # a small list is fine
    form = client.get("/privacy/exports/request/?list=/customers/contacts/&query=&count=3")
    assert form.status_code == 200
    response = client.post("/privacy/exports/request/?list=/customers/contacts/&query=&count=3",
                           {"list": "/customers/contacts/", "query": "", "count": 3, "purpose": "学术会议邀请名单"})
    assert response.status_code == 302
    bulk_export = BulkExport.objects.get()
    assert client.get("/customers/contacts/?format=csv").status_code == 403  # not approved yet
    approval = ApprovalRequest.objects.get(kind="privacy.bulk_export")
    approvals.decide(actor=dpo, approval=approval, approve=True, comment="", password=DEMO_PASSWORD)
    assert 'href="/customers/contacts/?format=csv"' in client.get(bulk_export.get_absolute_url()).content.decode()
    exported = client.get("/customers/contacts/?format=csv")
    assert exported.status_code == 200 and "医生2" in _body(exported)
    row = PersonalDataAccess.objects.order_by("-id").first()
    assert (row.purpose, row.approved_by, row.subject_count, row.viewer) == ("export", dpo, 3, manager)
    bulk_export.refresh_from_db()
    assert bulk_export.status == "used" and bulk_export.approved_by == dpo
    assert client.get("/customers/contacts/?format=csv").status_code == 403  # an approval is for one export


def test_the_export_check_notices_a_missing_gate(client: Any, org: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from pharmacrm.privacy import exports

    monkeypatch.setattr(exports, "export_allowance", lambda **kwargs: None)
    from pharmacrm.core import policy
    from pharmacrm.privacy.policy import BULK_EXPORT_THRESHOLD

    policy.set_value(actor=org["admin"], key=BULK_EXPORT_THRESHOLD.key, value=2, effective_from=policy.today(),
                     reason="test")
    _contacts(org, 3)
    login(client, org["manager_east"])
    assert client.get("/customers/contacts/?format=csv").status_code == 200  # would have failed the check above


def _person_exports() -> list[tuple[str, Any]]:
    """(url pattern, view class) of every page whose CSV export names doctors or pharmacists: a list of contacts,
    or columns read through a row's ``contact``."""
    from django.urls import URLPattern, URLResolver, get_resolver

    from pharmacrm.customers.models import Contact

    found: list[tuple[str, Any]] = []

    def walk(patterns: Any, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                declared = getattr(view, "export_columns", ())
                if isinstance(declared, property):  # columns chosen per user: look at the model only
                    declared = (("", "<per user>"),)
                columns = [str(accessor) for _header, accessor in declared or () if isinstance(accessor, str)]
                if view is None or not columns:
                    continue
                if getattr(view, "model", None) is Contact or any(c.startswith("contact.") for c in columns):
                    found.append((prefix + str(pattern.pattern), view))

    walk(get_resolver().url_patterns, "/")
    return found


def test_every_export_of_persons_passes_the_gate() -> None:
    """A new list exporting contacts' names without ``export_persons`` would leave the system unlogged and
    unapproved; the push page's CSV is checked by the test below."""
    exports = _person_exports()
    assert {view.__name__ for _path, view in exports} >= {"ContactListView", "DeliveryListView",
                                                          "DisbursementListView"}
    ungated = [path for path, view in exports if not view.export_persons]
    assert not ungated, f"exports of persons without export_persons (the approval gate): {ungated}"


@pytest.mark.parametrize("kind", ["disbursements", "deliveries", "push"])
def test_other_lists_of_persons_need_the_approval_too(client: Any, org: dict[str, Any], kind: str) -> None:
    """Sample recipients and content receivers are persons as much as the contact list's rows."""
    from pharmacrm.core import policy
    from pharmacrm.privacy.models import PersonalDataAccess
    from pharmacrm.privacy.policy import BULK_EXPORT_THRESHOLD
    from tests.reliability.world import add_person_rows

    policy.set_value(actor=org["admin"], key=BULK_EXPORT_THRESHOLD.key, value=2, effective_from=policy.today(),
                     reason="test")
    urls = add_person_rows(org, persons=3)
    login(client, urls["marketing"] if kind == "push" else org["manager_east"])  # pushes are head office's
    before = PersonalDataAccess.objects.count()
    refused = client.get(urls[kind] + "?format=csv")
    assert refused.status_code == 403, refused.status_code
    assert f"list={urls[kind].replace('/', '%2F')}" in refused.content.decode()
    assert PersonalDataAccess.objects.count() == before
    policy.set_value(actor=org["admin"], key=BULK_EXPORT_THRESHOLD.key, value=3, effective_from=policy.today(),
                     reason="test")
    exported = client.get(urls[kind] + "?format=csv")
    assert exported.status_code == 200
    row = PersonalDataAccess.objects.order_by("-id").first()
    assert (row.purpose, row.subject_count) == ("export", 3)
