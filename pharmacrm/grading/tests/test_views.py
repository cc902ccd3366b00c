"""Grading pages: scoped for every role, refused for the wrong ones, field errors and no partial write on bad
input, and marketing's draft → preview → submit on the pages."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import login
from pharmacrm.core import approvals
from pharmacrm.grading.choices import VersionStatus
from pharmacrm.grading.models import GradeChange, GradingRun, RuleVersion
from pharmacrm.grading.tests.test_engine import buy, grade_all, place, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _page(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_a_rep_sees_his_customers_classes_and_why(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    mine = place(world, "长宁诊所")
    buy(world, mine, "250000")
    grade_all(world)
    login(client, world["rep_east"])
    overview = _page(client, "/grading/")
    assert "客户分类与分级" in overview and "您的范围内共 2 个客户" in overview
    tab = _page(client, f"/grading/institutions/{mine.pk}/")
    assert "中型" in tab and "¥250,000.00" in tab and "规模 v1" in tab
    _page(client, f"/grading/institutions/{world['institution_west'].pk}/", 404)
    assert "/grading/institutions/" in _page(client, mine.get_absolute_url())
    filtered = _page(client, "/customers/institutions/?size=medium")
    assert "长宁诊所" in filtered and "复旦大学附属中山医院" not in filtered
    for url in ("/grading/rules/new/size/", f"/grading/rules/{RuleVersion.objects.first().pk}/edit/"):
        _page(client, url, 403)
    assert client.post("/grading/runs/new/").status_code == 403


def test_academic_reps_see_classes_without_amounts(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    from pharmacrm.org.roles import Role
    from pharmacrm.org.services import create_user

    academic = create_user(actor=None, username="academic", full_name="学术", role=Role.ACADEMIC_REP,
                           team=world["teams"]["east"], email="ac@example.com", password="pharmacrm-demo")
    mine = place(world, "学术医院", academic_owner=academic)
    buy(world, mine, "250000")
    grade_all(world)
    login(client, academic)
    tab = _page(client, f"/grading/institutions/{mine.pk}/")
    assert "中型" in tab and "¥250,000.00" not in tab and "¥…" in tab


def test_changes_are_listed_in_scope_and_exported(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    grower, far = place(world, "成长诊所"), place(world, "成都诊所", owner=world["rep_west"])
    grade_all(world)
    for institution in (grower, far):
        buy(world, institution, "300000")
    grade_all(world)
    assert GradeChange.objects.filter(dimension="size").count() == 2
    login(client, world["rep_east"])
    page = _page(client, "/grading/changes/?dimension=size")
    assert "成长诊所" in page and "成都诊所" not in page and "小型" in page and "中型" in page
    overview = _page(client, "/grading/")
    assert "上海市" in overview and "四川省" not in overview  # grades by province, in scope
    run = GradeChange.objects.filter(institution=grower).get(dimension="size").run_id
    assert f"?run={run}" in overview  # the movements of the last runs
    login(client, world["leader"])
    export = client.get("/grading/changes/?dimension=size&format=csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    assert export.status_code == 200 and "成长诊所" in body and "成都诊所" in body


def test_the_overview_tables_export_in_scope(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    from pharmacrm.core.models import AuditAction, AuditEntry

    mine, far = place(world, "长宁诊所"), place(world, "成都诊所", owner=world["rep_west"])
    for institution in (mine, far):
        buy(world, institution, "250000")
    grade_all(world)
    login(client, world["rep_east"])
    assert "format=csv" not in _page(client, "/grading/")  # reps may not export customers
    assert client.get("/grading/?format=csv&table=regions").status_code == 403

    def export(user: Any, table: str) -> list[list[str]]:
        import csv

        login(client, user)
        response = client.get(f"/grading/?format=csv&table={table}")
        assert response.status_code == 200, response.status_code
        return list(csv.reader(b"".join(response.streaming_content).decode("utf-8-sig").splitlines()))

    login(client, world["manager_east"])
    assert "table=regions" in _page(client, "/grading/")
    classes = export(world["manager_east"], "classes")
    assert classes[0] == ["维度", "分类", "客户", "占比"]
    assert ["规模", "中型", "1", "50.0"] in classes  # east: 长宁诊所 and the fixture's own customer
    regions = export(world["manager_east"], "regions")
    assert [row[1] for row in regions[1:]] == ["上海市"]  # no 四川省 outside the manager's scope
    assert {row[1] for row in export(world["leader"], "regions")[1:]} >= {"上海市", "四川省"}
    movements = export(world["leader"], "movements")
    assert len(movements) == 1 + GradingRun.objects.filter(status="done").count()
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_repr="grading-regions").count() == 2
    response = client.get("/grading/?format=csv&table=secrets")
    assert response.status_code == 400 and "classes" in response.content.decode()


def test_marketing_drafts_previews_and_submits_on_the_pages(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    grade_all(world)
    login(client, world["marketing"])
    form = {"effective_from": "2000-01-01", "note": "", "large_min_yuan": "100", "medium_min_yuan": "500"}
    response = client.post("/grading/rules/new/size/", form)
    body = response.content.decode()
    assert response.status_code == 400 and "规则不能追溯生效" in body and "须低于大型门槛" in body
    for bad in ({"large_min_yuan": ""}, {"large_min_yuan": "很多"}, {"large_min_yuan": "9" * 30}):
        response = client.post("/grading/rules/new/size/", {**form, "effective_from": "2099-01-01", **bad})
        assert response.status_code == 400
    assert RuleVersion.objects.filter(dimension="size").count() == 1
    response = client.post("/grading/rules/new/size/", {**form, "effective_from": "2099-01-01",
                                                         "medium_min_yuan": "50", "note": "降低中型门槛"})
    draft = RuleVersion.objects.get(dimension="size", number=2)
    assert response.status_code == 302 and draft.parameters == {"large_min_yuan": 100, "medium_min_yuan": 50}
    client.post(f"/grading/rules/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT  # not previewed yet
    client.post(f"/grading/rules/{draft.pk}/preview/")
    assert "个客户中将有" in _page(client, draft.get_absolute_url())
    client.post(f"/grading/rules/{draft.pk}/submit/")
    draft.refresh_from_db()
    assert draft.status == VersionStatus.PENDING
    assert approvals.can_decide(world["leader"], draft.approval)
    _page(client, f"/grading/rules/{draft.pk}/edit/", 302)  # a submitted draft is no longer edited


def test_upgrade_candidates_downgrade_warnings_and_key_accounts(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    from pharmacrm.grading import rules
    from pharmacrm.grading.tests.test_engine import publish
    from pharmacrm.sales import orders

    near_up = place(world, "差一点的诊所")
    place(world, "刚达标的诊所")  # no credit line: credit B scores 80, premium by 5 points
    orders.set_credit_limit(actor=world["finance"], institution=near_up, limit_fen=0)  # credit A
    publish(world, "grade", **{**dict.fromkeys(rules.GRADE_WEIGHTS, 0), "w_credit": 1}, credit_a=70, credit_b=80)
    publish(world, "key_account", min_score=0, top_n=2)
    grade_all(world)
    login(client, world["rep_east"])
    upgrades = _page(client, "/grading/upgrades/")
    assert "差一点的诊所" in upgrades and "刚达标的诊所" not in upgrades
    assert "一般客户 → 优质客户" in upgrades and "信用状况 70.0" in upgrades and "差 5.0 分" in upgrades
    downgrades = _page(client, "/grading/downgrades/")
    assert "刚达标的诊所" in downgrades and "差一点的诊所" not in downgrades
    candidates = _page(client, "/grading/key-accounts/")
    assert candidates.count("/customers/institutions/") >= 2
    assert client.get("/grading/upgrades/?format=csv").status_code == 403  # reps do not export
    login(client, world["leader"])
    export = client.get("/grading/upgrades/?format=csv")
    assert export.status_code == 200 and "差一点的诊所" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_customer_type_is_a_strategy_dimension(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    """Seed 003 二 classifies by industry too: for us the customer's type, counted on the overview and with a
    strategy of its own that the customer's tab shows once marketing has written one."""
    from pharmacrm.grading.models import Strategy

    mine = place(world, "长宁诊所")  # a clinic
    grade_all(world)
    clinics = Strategy.objects.get(dimension="customer_type", klass="clinic")
    assert not clinics.says_anything
    login(client, world["marketing"])
    overview = _page(client, "/grading/")
    assert "客户类型" in overview and "/customers/institutions/?kind=clinic" in overview
    assert "门诊部" in _page(client, "/grading/strategies/")
    form = {"strategy": clinics.pk, "version": clinics.version, "visit_every_days": "", "contacts_per_month": "2",
            "service_package": "诊所：季度用药培训", "content_cadence": ""}
    assert client.post("/grading/strategies/", form).status_code == 302
    login(client, world["rep_east"])
    tab = _page(client, f"/grading/institutions/{mine.pk}/")
    assert "客户类型 · 诊所/门诊部" in tab and "季度用药培训" in tab
    assert tab.index("等级 · ") < tab.index("客户类型 · ")  # what the grade calls for first
    classes = client.get("/api/v1/grading/strategies/?dimension=customer_type").json()
    rows = classes.get("results", classes)
    assert any(row["klass"] == "clinic" and row["service_package"] == "诊所：季度用药培训" for row in rows)


def test_marketing_keeps_the_strategy_table(client: Any, world: dict[str, Any]) -> None:  # noqa: F811
    from pharmacrm.grading.models import Strategy

    premium = Strategy.objects.get(dimension="grade", klass="premium")
    login(client, world["rep_east"])
    assert "专属服务" in _page(client, "/grading/strategies/") and 'name="strategy"' not in _page(
        client, "/grading/strategies/")
    assert client.post("/grading/strategies/", {"strategy": premium.pk, "visit_every_days": "3"}).status_code == 403
    login(client, world["marketing"])
    form = {"strategy": premium.pk, "version": premium.version, "visit_every_days": "-1", "contacts_per_month": "4",
            "service_package": "专属服务", "content_cadence": ""}
    assert client.post("/grading/strategies/", form).status_code == 400
    assert client.post("/grading/strategies/", {**form, "visit_every_days": "14"}).status_code == 302
    premium.refresh_from_db()
    assert premium.visit_every_days == 14
    stale = client.post("/grading/strategies/", {**form, "visit_every_days": "21"})  # the version seen before
    assert stale.status_code == 400 and Strategy.objects.get(pk=premium.pk).visit_every_days == 14
