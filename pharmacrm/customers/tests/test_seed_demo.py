"""seed_demo: deterministic, one user per role, rows scoped and audited like real ones."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

pytestmark = pytest.mark.django_db


def _seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def _fingerprint() -> list[tuple[Any, ...]]:
    from pharmacrm.customers.models import Contact, Institution

    institutions = sorted(Institution.objects.values_list(
        "name", "kind", "hospital_grade", "status", "division_id", "address", "phone", "owner__username",
        "team__name", "parent__name"))
    contacts = sorted(Contact.objects.values_list("institution__name", "name", "gender", "department", "title",
                                                  "mobile"))
    return [*institutions, *contacts]


def test_same_seed_same_data() -> None:
    from pharmacrm.customers.models import Institution

    with transaction.atomic():  # a fresh database each time: roll the first run back
        _seed(scale=60, seed=7)
        first = _fingerprint()
        transaction.set_rollback(True)
    assert not Institution.objects.exists()
    _seed(scale=60, seed=7)
    assert _fingerprint() == first
    assert Institution.objects.count() == 60


def test_demo_users_roles_scope_and_audit() -> None:
    from django.contrib.contenttypes.models import ContentType

    from pharmacrm.core.audit import verify_chain
    from pharmacrm.core.models import AuditEntry
    from pharmacrm.customers.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
    from pharmacrm.customers.models import Contact, Institution
    from pharmacrm.org.models import Team, User
    from pharmacrm.org.roles import Role

    output = _seed(scale=60, seed=7)
    assert "60 institutions" in output

    users = {user.username: user for user in User.objects.all()}
    for spec in DEMO_USERS:
        assert users[spec.username].role == spec.role, spec.username
    expected = {"admin": Role.ADMIN, "rep_east": Role.REP, "rep_west": Role.REP, "manager_east": Role.MANAGER,
                "regional_east": Role.REGIONAL_MANAGER, "steward": Role.STEWARD, "compliance": Role.COMPLIANCE,
                "leader": Role.LEADER, "marketing": Role.MARKETING, "finance": Role.FINANCE, "legal": Role.LEGAL,
                "key_account": Role.KEY_ACCOUNT, "academic_east": Role.ACADEMIC_REP,
                "pv_officer": Role.PHARMACOVIGILANCE}
    assert {name: users[name].role for name in expected} == expected
    assert set(Role) <= {user.role for user in users.values()}
    assert users["rep_east"].check_password(DEMO_PASSWORD)
    assert all(user.full_name and user.full_name != user.username for user in users.values())
    east = Team.objects.get(name="华东一组")
    assert east.manager == users["manager_east"]
    assert users["rep_east"].team == east and users["academic_east"].team == east
    assert list(users["rep_west"].territories.values_list("pk", flat=True)) == ["510100"]
    assert list(users["regional_east"].territories.values_list("pk", flat=True)) == ["310000"]

    mine = Institution.objects.visible_to(users["rep_east"])
    assert mine.exists()
    assert set(mine.values_list("province_code", flat=True)) == {"310000"}
    assert set(Institution.objects.visible_to(users["rep_west"]).values_list("city_code", flat=True)) == {"510100"}
    region = Institution.objects.visible_to(users["regional_east"])
    assert set(region.values_list("province_code", flat=True)) == {"310000"}
    assert Institution.objects.visible_to(users["manager_east"]).filter(owner=users["rep_east"]).count() == mine.count()
    assert not Institution.objects.filter(team__isnull=True).exists()
    assert all(i.team_id == i.owner.team_id for i in Institution.objects.select_related("owner"))
    stores = Institution.objects.filter(kind="chain_store")
    assert stores.exists() and not stores.exclude(parent__kind="chain_hq").exists()
    assert Contact.objects.count() >= 20
    assert all(len(m) == 11 and m.startswith("1") for m in Contact.objects.values_list("mobile", flat=True))

    content_type = ContentType.objects.get_for_model(Institution)
    created = AuditEntry.objects.filter(content_type=content_type, action="create")
    ids = {str(pk) for pk in Institution.objects.values_list("pk", flat=True)}
    assert sorted(created.values_list("object_id", flat=True)) == sorted(ids)  # exactly one each
    assert AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Contact),
                                     action="create").count() == Contact.objects.count()
    assert verify_chain().ok


def test_if_empty_leaves_existing_data_alone() -> None:
    from pharmacrm.customers.models import Institution

    _seed(scale=5, seed=1)
    output = _seed(scale=50, seed=2, if_empty=True)
    assert "nothing to do" in output
    assert Institution.objects.count() == 5


def _search_ids(index: Any, term: str) -> set[int]:
    from django.db import connection

    sql, params = index.matching_ids(term)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("workers", [0, 2])
def test_bulk_path_writes_the_same_rows_with_one_audit_entry_per_batch(monkeypatch: pytest.MonkeyPatch,
                                                                       workers: int) -> None:
    from django.contrib.contenttypes.models import ContentType

    from pharmacrm.core.audit import verify_chain
    from pharmacrm.core.models import AuditEntry
    from pharmacrm.customers import search
    from pharmacrm.customers.management import seeding
    from pharmacrm.customers.models import Contact, Institution, Licence

    with transaction.atomic():
        _seed(scale=60, seed=7)
        per_row = _fingerprint()
        transaction.set_rollback(True)
    monkeypatch.setattr(seeding, "ROUND", 20)  # several rounds, so forked workers take part
    before = AuditEntry.objects.count()
    output = _seed(scale=60, seed=7, bulk=True, workers=workers)
    assert "60 institutions" in output and "bulk" in output
    assert _fingerprint() == per_row  # same generator, same rows: only the audit granularity differs

    ids = sorted(Institution.objects.values_list("pk", flat=True))
    assert ids == list(range(ids[0], ids[0] + 60))
    entries = AuditEntry.objects.filter(pk__gt=0, content_type=ContentType.objects.get_for_model(Institution),
                                        action="create").order_by("pk")
    batches = [entry for entry in entries if entry.object_id == ""]
    assert len(batches) == 4  # the headquarters, then three rounds of 20
    assert sum(entry.changes["rows"] for entry in batches) == 60
    assert all(entry.reason == "demo data" and entry.actor_username == "steward" for entry in batches)
    assert batches[0].changes["first_id"] == ids[0] and batches[-1].changes["last_id"] == ids[-1]
    for model in (Licence, Contact):
        counted = sum(entry.changes["rows"] for entry in AuditEntry.objects.filter(
            pk__gt=0, content_type=ContentType.objects.get_for_model(model), object_id=""))
        assert counted == model.objects.count()
    assert AuditEntry.objects.count() - before < 100  # per batch, not per row
    assert verify_chain().ok

    # The search index and keys are filled as by the services.
    institution = Institution.objects.filter(kind="public_hospital").first() or Institution.objects.first()
    assert institution.search_key == search.institution_key(institution)
    assert institution.pk in _search_ids(search.INSTITUTION_INDEX, institution.name[:4])
    contact = Contact.objects.first()
    # a mobile is sealed at rest: the index never holds it, the blind index finds the whole number
    assert contact.pk not in _search_ids(search.CONTACT_INDEX, contact.mobile)
    from pharmacrm.core.crypto import blind_index

    assert Contact.objects.filter(mobile_index=blind_index(contact.mobile)).first() == contact
    assert contact.affiliations.filter(institution=contact.institution).exists()


@pytest.mark.slow  # 3,000 institutions seeded
def test_national_company_gives_reps_a_real_book(monkeypatch: pytest.MonkeyPatch) -> None:
    """At national scale a rep covers a few hundred customers, the rest wait with the city's manager."""
    from pharmacrm.customers.management.commands import seed_demo
    from pharmacrm.customers.models import Institution
    from pharmacrm.org.models import Team, User
    from pharmacrm.org.roles import Role

    monkeypatch.setattr(seed_demo, "NATIONAL_SCALE", 3000)
    monkeypatch.setattr(seed_demo, "BOOK", 5)
    _seed(scale=3000, seed=3, bulk=True, workers=0)
    assert Institution.objects.count() == 3000
    assert Institution.objects.values("province_code").distinct().count() == 31  # the whole mainland
    rep_east = User.objects.get(username="rep_east")
    assert 0 < Institution.objects.filter(owner=rep_east).count() < 20  # weight 14 → a book of 14 × BOOK / 10
    shanghai = Team.objects.get(name="上海市组", parent__name="华东大区")
    assert shanghai.manager.role == Role.MANAGER and shanghai.manager.username == "manager_3101"
    reps = User.objects.filter(role=Role.REP, username__regex=r"^rep_\d{4}_\d{2}$")
    assert reps.count() > 50 and not reps.filter(team__isnull=True).exists()
    books = [Institution.objects.filter(owner=rep).count() for rep in reps]
    assert 2 < sum(books) / len(books) < 10, books  # about BOOK each
    manager_books = Institution.objects.filter(owner__username__startswith="manager_").count()
    assert 0.4 < manager_books / 3000 < 0.8  # the uncovered share waits with the city managers
    mine = Institution.objects.visible_to(User.objects.get(username="rep_3101_01"))
    assert mine.exists() and set(mine.values_list("province_code", flat=True)) == {"310000"}
    assert not Institution.objects.filter(team__isnull=True).exists()
