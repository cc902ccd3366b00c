"""The grading engine: every threshold at its boundary, weights, unknown category totals, versions and effective
dates, history, notifications, and a preview that equals the run after it."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from conftest import DEMO_PASSWORD
from pharmacrm.core import approvals
from pharmacrm.core.models import Notification
from pharmacrm.core.policy import today
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.workflow import TransitionNotAllowed
from pharmacrm.customers import services as customers
from pharmacrm.customers.models import Institution
from pharmacrm.grading import engine, rules, services
from pharmacrm.grading.choices import Dimension, RunStatus, VersionStatus
from pharmacrm.grading.models import Classification, GradeChange, RuleVersion
from pharmacrm.org.models import Division, User
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.sales import orders, purchases
from pharmacrm.sales import services as catalogue
from pharmacrm.sales.choices import PurchaseSource
from pharmacrm.sales.models import month_of

pytestmark = pytest.mark.django_db

AS_OF = today()
_keys = itertools.count()


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    return make_world(org)


def make_world(org: dict[str, Any]) -> dict[str, Any]:
    """A product, marketing and finance beside ``org``."""
    product = catalogue.create_product(
        actor=org["admin"], code="G1", generic_name="阿托伐他汀钙片", dosage_form="tablet", strength="20mg",
        pack="7片/盒", approval_number="国药准字H20051408", marketing_authorisation_holder="华康制药",
        therapeutic_area="cardiovascular", list_price_fen=2880, category="chemical")
    marketing = create_user(actor=None, username="marketing", full_name="市场部", role=Role.MARKETING,
                            team=org["teams"]["company"], email="mk@example.com", password=DEMO_PASSWORD)
    finance = create_user(actor=None, username="finance", full_name="财务", role=Role.FINANCE,
                          team=org["teams"]["company"], email="fi@example.com", password=DEMO_PASSWORD)
    return {**org, "product": product, "marketing": marketing, "finance": finance}


def place(world: dict[str, Any], name: str, **fields: Any) -> Institution:
    fields = {"kind": "clinic", "status": "active", "owner": world["rep_east"], **fields}
    return customers.create_institution(actor=world["steward"], name=name,
                                        division=Division.objects.get(pk="310104"), **fields)


def buy(world: dict[str, Any], institution: Institution, yuan: str, *, months_ago: int = 0, lines: int = 1) -> None:
    month = purchases.add_months(month_of(AS_OF), -months_ago)
    day = datetime.date(month // 100, month % 100, 1)
    fen = int(Decimal(yuan) * 100)
    facts = [purchases.Fact(institution_id=institution.pk, product_id=world["product"].pk, purchased_on=day,
                            quantity=1, amount_fen=fen // lines + (fen % lines if line == 0 else 0),
                            source=PurchaseSource.FLOW, line_key=purchases.line_key("grading", next(_keys)))
             for line in range(lines)]
    purchases.add(facts)


def grade_all(world: dict[str, Any], on: datetime.date = AS_OF) -> dict[int, Classification]:
    run = services.start_run(actor=world["marketing"], as_of=on)
    assert services.execute(run).status == RunStatus.DONE
    return {row.institution_id: row for row in Classification.objects.all()}


def publish(world: dict[str, Any], dimension: str, effective_from: datetime.date = AS_OF, **changes: int) -> RuleVersion:
    """Draft, preview, submit and have leadership approve a version of ``dimension`` with ``changes``."""
    if not Classification.objects.exists():  # a preview needs a run to compare with
        grade_all(world)
    version = services.draft_version(actor=world["marketing"], dimension=dimension, effective_from=effective_from,
                                     parameters={**rules.defaults(dimension), **changes}, note="test")
    version = services.preview_version(actor=world["marketing"], version=version)
    version = services.submit_version(actor=world["marketing"], version=version)
    approvals.decide(actor=world["leader"], approval=version.approval, approve=True, comment="同意",
                     password=DEMO_PASSWORD)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    return version


def test_size_boundaries(world: dict[str, Any]) -> None:
    amounts = {"1000000.00": "large", "999999.99": "medium", "200000.00": "medium", "199999.99": "small"}
    places = {amount: place(world, f"诊所{index}") for index, amount in enumerate(amounts)}
    for amount, institution in places.items():
        buy(world, institution, amount, months_ago=11)  # the oldest month of the 12
        buy(world, institution, "5000", months_ago=12)  # the 12 before: not counted
    rows = grade_all(world)
    assert {amount: rows[institution.pk].size for amount, institution in places.items()} == amounts
    assert rows[world["institution_east"].pk].size == "small"  # bought nothing


def test_tenure_boundaries_and_the_first_purchase_when_no_date_is_on_file(world: dict[str, Any]) -> None:
    three, one = engine.years_before(AS_OF, 3), engine.years_before(AS_OF, 1)
    dates = {three - datetime.timedelta(days=1): "long", three: "medium", one: "medium",
             one + datetime.timedelta(days=1): "short"}
    places = {day: place(world, f"诊所{day}", first_cooperation_date=day) for day in dates}
    undated = place(world, "未填合作日期的诊所")
    buy(world, undated, "100", months_ago=20)
    rows = grade_all(world)
    assert {day: rows[institution.pk].tenure for day, institution in places.items()} == dates
    first = purchases.add_months(month_of(AS_OF), -20)
    assert rows[undated.pk].cooperation_since == datetime.date(first // 100, first % 100, 1)
    assert rows[undated.pk].since_first_purchase and rows[undated.pk].tenure == "medium"
    assert rows[world["institution_east"].pk].tenure == "none"  # no date, never bought


def test_depth_share_boundary_and_unknown_totals(world: dict[str, Any]) -> None:
    core = place(world, "核心诊所", annual_category_purchases=Decimal("100000.00"))
    below = place(world, "潜力诊所", annual_category_purchases=Decimal("100000.03"))
    unknown = place(world, "不知总额的诊所")
    for institution in (core, below, unknown):
        buy(world, institution, "30000.00")
    rows = grade_all(world)
    assert rows[core.pk].depth == "core"  # exactly 30 %
    assert rows[below.pk].depth == "potential"
    assert rows[unknown.pk].depth == "unknown" and rows[unknown.pk].share is None
    assert rows[world["institution_east"].pk].depth == "to_develop"


def test_grade_cut_offs_weights_and_credit(world: dict[str, Any]) -> None:
    within, cash = place(world, "额度内"), place(world, "先款后货")
    orders.set_credit_limit(actor=world["finance"], institution=within, limit_fen=0)  # owes nothing: within
    # only credit counts: the score is the credit score, so each cut-off can be hit exactly
    publish(world, Dimension.GRADE, **{**dict.fromkeys(rules.GRADE_WEIGHTS, 0), "w_credit": 1}, credit_a=75,
            credit_b=74, premium_min=75, general_min=74)
    rows = grade_all(world)
    assert (rows[within.pk].credit, rows[within.pk].grade_score, rows[within.pk].grade) == ("A", 75.0, "premium")
    assert (rows[cash.pk].credit, rows[cash.pk].grade_score, rows[cash.pk].grade) == ("B", 74.0, "general")
    publish(world, Dimension.GRADE, **{**dict.fromkeys(rules.GRADE_WEIGHTS, 0), "w_volume": 1, "w_growth": 1})
    top = place(world, "最大客户")
    buy(world, top, "500", months_ago=13)
    buy(world, top, "500", lines=3)  # flat year on year: growth score 50; the biggest buyer: volume 100
    rows = grade_all(world)
    assert (rows[top.pk].volume_percentile, rows[top.pk].s_growth, rows[top.pk].grade_score) == (100.0, 50.0, 75.0)
    assert rows[top.pk].grade == "premium" and rows[top.pk].lines_12 == 3


def test_key_account_candidates_are_the_top_above_the_minimum(world: dict[str, Any]) -> None:
    big = [place(world, f"大医院{index}", kind="public_hospital", hospital_grade="3A") for index in range(3)]
    for index, institution in enumerate(big):
        buy(world, institution, str(1000 * (index + 1)), lines=12)
    publish(world, Dimension.KEY_ACCOUNT, top_n=2, min_score=1)
    rows = grade_all(world)
    ranked = sorted((row.ka_rank, pk) for pk, row in rows.items() if row.ka_rank is not None)
    assert ranked == [(1, big[2].pk), (2, big[1].pk)]
    assert rows[big[2].pk].s_influence == 100.0


def test_history_reasons_and_owner_notifications(world: dict[str, Any]) -> None:
    customer = place(world, "成长诊所")
    grade_all(world)
    before = Notification.objects.filter(recipient=world["rep_east"]).count()
    west_before = Notification.objects.filter(recipient=world["rep_west"]).count()
    buy(world, customer, "2000000")
    buy(world, customer, "2000000", months_ago=12)
    grade_all(world)
    changes = {(change.dimension, change.old, change.new, change.reason)
               for change in GradeChange.objects.filter(institution=customer)}
    assert ("size", "small", "large", "data") in changes
    told = Notification.objects.filter(recipient=world["rep_east"]).order_by("id")[before:]
    assert len(told) == 1  # one message for the run, however many of the rep's customers changed
    run = GradeChange.objects.filter(institution=customer).latest("id").run_id
    assert told[0].url.endswith(f"?run={run}") and ("规模 1" in told[0].body or "Size 1" in told[0].body)
    assert Notification.objects.filter(recipient=world["rep_west"]).count() == west_before  # none of his changed
    version = publish(world, Dimension.SIZE, large_min_yuan=3_000_000, medium_min_yuan=1_000_000)
    grade_all(world)
    change = GradeChange.objects.filter(institution=customer, dimension="size").latest("id")
    assert (change.old, change.new, change.reason, change.new_rule_id) == ("large", "medium", "rules", version.pk)


def test_preview_equals_the_run_after_publishing(world: dict[str, Any]) -> None:
    for index, amount in enumerate(("50000", "150000", "250000", "1200000")):
        buy(world, place(world, f"诊所{index}"), amount)
    grade_all(world)
    draft = services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE, effective_from=AS_OF,
                                   parameters={"large_min_yuan": 1_000_000, "medium_min_yuan": 100_000})
    preview = services.preview_version(actor=world["marketing"], version=draft).preview
    moves = {(move["old"], move["new"]): move["count"] for move in preview["moves"] if move["old"] != move["new"]}
    assert moves == {("small", "medium"): 1} and preview["changes"] == 1
    services.submit_version(actor=world["marketing"], version=draft)
    draft.refresh_from_db()
    approvals.decide(actor=world["leader"], approval=draft.approval, approve=True, comment="", password=DEMO_PASSWORD)
    run = services.execute(services.start_run(actor=world["marketing"], as_of=AS_OF))
    real = {(change.old, change.new): 1 for change in GradeChange.objects.filter(run=run, dimension="size")}
    assert real == moves and run.changes == preview["changes"]


def test_a_key_account_preview_ranks_as_the_run_does(world: dict[str, Any]) -> None:
    """The preview ranks candidates with a window over every customer, a run by a bounded sort of the top
    afterwards: with ties at the cut (equal scores, broken by customer) both pick the same candidates."""
    twins = [place(world, f"同分医院{index}", kind="public_hospital", hospital_grade="3A") for index in range(4)]
    for institution in twins:
        buy(world, institution, "5000", lines=6)
    buy(world, place(world, "小诊所"), "100")
    publish(world, Dimension.KEY_ACCOUNT, min_score=100)
    assert not [row for row in grade_all(world).values() if row.ka_rank is not None]  # nobody a candidate yet
    version = services.draft_version(actor=world["marketing"], dimension=Dimension.KEY_ACCOUNT, effective_from=AS_OF,
                                     parameters={**rules.defaults(Dimension.KEY_ACCOUNT), "top_n": 3, "min_score": 1})
    preview = services.preview_version(actor=world["marketing"], version=version).preview
    entering = {sample["id"] for move in preview["moves"] if (move["old"], move["new"]) == ("", "candidate")
                for sample in move["samples"]}
    services.submit_version(actor=world["marketing"], version=version)
    version.refresh_from_db()
    approvals.decide(actor=world["leader"], approval=version.approval, approve=True, comment="", password=DEMO_PASSWORD)
    rows = grade_all(world)
    ranked = sorted((row.ka_rank, pk) for pk, row in rows.items() if row.ka_rank is not None)
    assert len({rows[twin.pk].ka_score for twin in twins}) == 1  # a tie across the cut
    assert ranked == [(rank, twin.pk) for rank, twin in enumerate(twins[:3], start=1)]
    assert entering == {twin.pk for twin in twins[:3]}


def test_versions_take_effect_on_their_date(world: dict[str, Any]) -> None:
    later = AS_OF + datetime.timedelta(days=30)
    version = publish(world, Dimension.SIZE, effective_from=later, large_min_yuan=5_000_000)
    assert engine.in_force(AS_OF)[Dimension.SIZE].number == 1
    assert engine.in_force(later)[Dimension.SIZE] == version
    with pytest.raises(ValidationError) as refused:
        services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE,
                               effective_from=AS_OF - datetime.timedelta(days=1), parameters={})
    assert "effective_from" in refused.value.message_dict
    with pytest.raises(TransitionNotAllowed):  # published versions are not drafts
        services.update_draft(actor=world["marketing"], version=version, parameters={}, effective_from=later)


def test_a_draft_taking_a_number_just_taken_takes_the_next(world: dict[str, Any], monkeypatch: Any) -> None:
    """Two drafts of one dimension at once: the one that read the last number before the other committed
    loses the unique number and retries with the next."""
    from django.db.models import QuerySet

    other = services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE, effective_from=AS_OF,
                                   parameters={}, note="the other draft")
    real, stale = QuerySet.aggregate, [1]

    def read_before_the_other(self: QuerySet, *args: Any, **kwargs: Any) -> Any:
        return {"number": stale.pop()} if stale else real(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "aggregate", read_before_the_other)
    draft = services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE, effective_from=AS_OF,
                                   parameters={}, note="mine")
    assert (other.number, draft.number, draft.note) == (2, 3, "mine")
    stale.extend([1] * services.DRAFT_ATTEMPTS)
    with pytest.raises(ValidationError, match=r"same time|同一时间"):
        services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE, effective_from=AS_OF,
                               parameters={})
    assert RuleVersion.objects.filter(dimension=Dimension.SIZE).count() == 3


@pytest.mark.parametrize(("dimension", "parameters", "field"), [
    (Dimension.SIZE, {"large_min_yuan": 100, "medium_min_yuan": 100}, "medium_min_yuan"),
    (Dimension.SIZE, {"large_min_yuan": "很多"}, "large_min_yuan"),
    (Dimension.SIZE, {"huge_min_yuan": 1}, "parameters"),
    (Dimension.TENURE, {"long_over_years": 2, "medium_from_years": 3}, "medium_from_years"),
    (Dimension.DEPTH, {"core_share_percent": 101}, "core_share_percent"),
    (Dimension.GRADE, {"premium_min": 50, "general_min": 50}, "general_min"),
    (Dimension.GRADE, dict.fromkeys(rules.GRADE_WEIGHTS, 0), "w_volume"),
    (Dimension.KEY_ACCOUNT, {"top_n": 0}, "top_n"),
])
def test_bad_parameters_are_refused_by_field(dimension: str, parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        rules.validate(dimension, parameters)
    assert field in refused.value.message_dict


def test_only_marketing_drafts_and_only_leadership_approves(world: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.draft_version(actor=world["rep_east"], dimension=Dimension.SIZE, effective_from=AS_OF, parameters={})
    grade_all(world)
    draft = services.draft_version(actor=world["marketing"], dimension=Dimension.SIZE, effective_from=AS_OF,
                                   parameters={})
    with pytest.raises(ValidationError):  # not previewed yet
        services.submit_version(actor=world["marketing"], version=draft)
    services.preview_version(actor=world["marketing"], version=draft)
    draft = services.submit_version(actor=world["marketing"], version=draft)
    assert not approvals.can_decide(world["marketing"], draft.approval)
    assert approvals.can_decide(world["leader"], draft.approval)
    with pytest.raises(PermissionDenied):
        services.start_run(actor=world["rep_east"])


def test_classes_are_visible_with_the_customer(world: dict[str, Any]) -> None:
    grade_all(world)
    mine = set(Classification.objects.visible_to(world["rep_east"]).values_list("institution_id", flat=True))
    assert mine == {world["institution_east"].pk}
    assert Classification.objects.visible_to(User.objects.get(username="leader")).count() == 2


def test_the_rules_and_run_a_class_names_cannot_be_deleted(world: dict[str, Any]) -> None:
    """A class's keys carry no database constraint (PostgreSQL would check each row at commit); the application
    still refuses to delete what a class names, and deletes a deleted customer's class."""
    from django.db.models import ProtectedError

    gone = place(world, "将被删除的诊所")
    rows = grade_all(world)
    row = rows[world["institution_east"].pk]
    with allow_bulk_writes():  # raw deletes: the database-level protection is what is tested here
        for referenced in (row.size_rule, row.ka_rule, row.run):
            with pytest.raises(ProtectedError):
                referenced.delete()
        assert Classification.objects.filter(pk=row.pk, size_rule=row.size_rule, run=row.run).exists()
        Institution.objects.get(pk=gone.pk).delete()  # and a deleted customer takes its class along
    assert not Classification.objects.filter(pk=gone.pk).exists() and gone.pk in rows


def test_a_run_keeps_the_class_tables_keys_indexes_and_checks(world: dict[str, Any]) -> None:
    """PostgreSQL writes the classes into a fresh table that takes the old one's place: its primary key,
    indexes and checks come back under the same names (migrations find them by name) and still hold."""
    from django.db import IntegrityError, connection, transaction

    def shape() -> dict[str, tuple]:
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, Classification._meta.db_table)
        return {name: (tuple(c["columns"]), c["primary_key"], c["unique"], c["index"], c["check"])
                for name, c in found.items()}

    grade_all(world)
    before = shape()
    assert "classification_ka_rank_idx" in before
    assert any(primary for (_, primary, *_) in before.values())
    rows = grade_all(world)
    assert shape() == before
    row = rows[world["institution_east"].pk]
    for broken in ({"institution_id": row.institution_id}, {"institution_id": 10**9, "lines_12": -1}):
        clone = Classification(**{**{f.attname: getattr(row, f.attname) for f in Classification._meta.fields},
                                  **broken})
        with pytest.raises(IntegrityError), transaction.atomic():
            clone.save(force_insert=True)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_outside_a_transaction_leaves_key_checks_on(org: dict[str, Any]) -> None:
    """As the nightly job runs it: SQLite writes the classes without per-row key checks, then turns them back on."""
    from django.db import IntegrityError, connection

    world = make_world(org)
    rows = grade_all(world)
    assert set(rows) == {world["institution_east"].pk, world["institution_west"].pk}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(IntegrityError):  # a change for a customer that does not exist is still refused
        GradeChange.objects.create(institution_id=10**9, run=rows[world["institution_east"].pk].run,
                                   changed_on=AS_OF, dimension="size", old="small", new="large", reason="data",
                                   new_rule=rows[world["institution_east"].pk].size_rule)
