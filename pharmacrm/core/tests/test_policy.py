"""Policy parameters: declared defaults, dated values, checked input, audit, admin-only pages."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIRequestFactory, force_authenticate

from conftest import login
from pharmacrm.core import policy
from pharmacrm.core.api.policy import PolicyParamViewSet
from pharmacrm.core.models import AuditEntry, PolicyValue

DIGEST = "notifications.digest_hour"
UPLOADS = "uploads.max_megabytes"


def _in_days(days: int) -> datetime.date:
    return policy.today() + datetime.timedelta(days=days)


def test_both_parameters_are_declared_with_their_defaults() -> None:
    assert policy.param(DIGEST).default == 8
    assert policy.param(UPLOADS).default == 10
    with translation.override("en"):
        assert str(policy.param(UPLOADS).label) == "Largest upload (MB)"
    assert [item.key for item in policy.params()] == sorted(item.key for item in policy.params())


def test_default_applies_when_never_set(db: Any) -> None:
    assert policy.get(DIGEST) == 8
    assert policy.get(UPLOADS, on=datetime.date(2020, 1, 1)) == 10


def test_undeclared_key_fails_loudly(db: Any) -> None:
    with pytest.raises(KeyError):
        policy.get("no.such.key")


def test_value_from_today_applies_today(org: dict[str, Any]) -> None:
    policy.set_value(actor=org["admin"], key=DIGEST, value=6, effective_from=policy.today(), reason="早一点提醒")
    assert policy.get(DIGEST) == 6


def test_future_value_is_not_used_today_but_is_used_from_its_date(org: dict[str, Any]) -> None:
    start = _in_days(10)
    stored = policy.set_value(actor=org["admin"], key=UPLOADS, value="25", effective_from=start,
                              reason="影像资料较大")
    assert stored.value == 25  # cleaned by the parameter's own field: text → int
    assert policy.get(UPLOADS) == 10
    assert policy.get(UPLOADS, on=start - datetime.timedelta(days=1)) == 10
    assert policy.get(UPLOADS, on=start) == 25
    assert policy.get(UPLOADS, on=start + datetime.timedelta(days=365)) == 25


def test_latest_dated_value_wins_and_history_is_kept(org: dict[str, Any]) -> None:
    admin = org["admin"]
    policy.set_value(actor=admin, key=DIGEST, value=7, effective_from=policy.today(), reason="一")
    policy.set_value(actor=admin, key=DIGEST, value=9, effective_from=_in_days(5), reason="二")
    policy.set_value(actor=admin, key=DIGEST, value=10, effective_from=_in_days(30), reason="三")
    assert policy.get(DIGEST) == 7
    assert policy.get(DIGEST, on=_in_days(29)) == 9
    assert policy.get(DIGEST, on=_in_days(30)) == 10
    status = next(item for item in policy.statuses() if item.key == DIGEST)
    assert status.current == 7
    assert status.upcoming is not None and status.upcoming.value == 9  # the soonest scheduled value
    assert [row.value for row in status.history] == [10, 9, 7]


@pytest.mark.parametrize(
    ("key", "value", "effective_from", "reason", "bad_fields"),
    [
        (DIGEST, "eight", None, "原因", {"value"}),
        (DIGEST, [8], None, "原因", {"value"}),
        (DIGEST, 8.5, None, "原因", {"value"}),
        (DIGEST, 24, None, "原因", {"value"}),
        (DIGEST, -1, None, "原因", {"value"}),
        (UPLOADS, 0, None, "原因", {"value"}),
        (UPLOADS, 51, None, "原因", {"value"}),
        (UPLOADS, "9" * 100_000, None, "原因", {"value"}),
        (UPLOADS, "", None, "原因", {"value"}),
        (DIGEST, 8, None, "", {"reason"}),
        (DIGEST, 8, None, "   ", {"reason"}),
        (DIGEST, 8, None, "长" * 100_000, {"reason"}),
        (DIGEST, 8, "not a date", "原因", {"effective_from"}),
        (DIGEST, 8, "2001-01-01", "原因", {"effective_from"}),
        (DIGEST, "x" * 100_000, "nope", "", {"value", "effective_from", "reason"}),
    ],
)
def test_bad_input_gives_field_errors_and_writes_nothing(org: dict[str, Any], key: str, value: Any,
                                                         effective_from: Any, reason: str,
                                                         bad_fields: set[str]) -> None:
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as error:
        policy.set_value(actor=org["admin"], key=key, value=value,
                         effective_from=policy.today() if effective_from is None else effective_from, reason=reason)
    assert set(error.value.message_dict) == bad_fields
    assert all(messages for messages in error.value.message_dict.values())
    assert not PolicyValue.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_unknown_key_is_refused(org: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        policy.set_value(actor=org["admin"], key="no.such.key", value=1, effective_from=policy.today(), reason="x")
    assert set(error.value.message_dict) == {"key"}
    assert not PolicyValue.objects.exists()


def test_errors_come_in_the_users_language(org: dict[str, Any]) -> None:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        policy.set_value(actor=org["admin"], key=DIGEST, value=99, effective_from=policy.today(), reason="x")
    message = error.value.message_dict["value"][0]
    assert "23" in message
    assert any("\u4e00" <= char <= "\u9fff" for char in message)  # Django's own zh-hans catalogue


def test_only_admins_may_change_a_value(org: dict[str, Any]) -> None:
    for persona in ("rep_east", "manager_east", "compliance", "leader"):
        with pytest.raises(PermissionDenied):
            policy.set_value(actor=org[persona], key=DIGEST, value=9, effective_from=policy.today(), reason="x")
    assert not PolicyValue.objects.exists()


def test_every_change_leaves_an_audit_entry_with_old_and_new(org: dict[str, Any]) -> None:
    admin = org["admin"]
    first = policy.set_value(actor=admin, key=DIGEST, value=9, effective_from=policy.today(), reason="试行")
    second = policy.set_value(actor=admin, key=DIGEST, value=7, effective_from=_in_days(3), reason="调整")
    for stored, value, reason in ((first, 9, "试行"), (second, 7, "调整")):
        entry = AuditEntry.objects.for_object(stored).get()
        assert entry.action == "create"
        assert entry.actor_id == admin.pk
        assert entry.reason == reason
        assert entry.changes["key"] == [None, DIGEST]
        assert entry.changes["value"] == [None, value]
        assert entry.changes["effective_from"] == [None, stored.effective_from.isoformat()]
        assert entry.changes["changed_by"] == [None, admin.pk]


# --- pages -------------------------------------------------------------------------------


def test_rep_gets_403_on_the_settings_pages(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    assert client.get(reverse("core:policy_list")).status_code == 403
    assert client.get(reverse("core:policy_edit", args=[DIGEST])).status_code == 403
    response = client.post(reverse("core:policy_edit", args=[DIGEST]),
                           {"value": "9", "effective_from": policy.today().isoformat(), "reason": "x"})
    assert response.status_code == 403
    assert client.get(reverse("core:calendarday_list")).status_code == 403
    assert not PolicyValue.objects.exists()


def test_settings_link_is_in_the_navigation_for_admins_only(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    assert reverse("core:policy_list") in client.get(reverse("core:home")).text
    client.logout()
    login(client, org["rep_east"])
    assert reverse("core:policy_list") not in client.get(reverse("core:home")).text


def test_admin_sees_every_parameter_with_current_default_and_scheduled(client: Any, org: dict[str, Any]) -> None:
    policy.set_value(actor=org["admin"], key=UPLOADS, value=30, effective_from=_in_days(7), reason="影像资料较大")
    login(client, org["admin"])
    with translation.override("en"):
        response = client.get(reverse("core:policy_list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.text
    assert DIGEST in page and UPLOADS in page
    assert "影像资料较大" in page
    assert _in_days(7).isoformat() in page
    assert reverse("core:calendarday_list") in page  # tab to the calendar page


def test_admin_changes_a_value_through_the_form(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    url = reverse("core:policy_edit", args=[DIGEST])
    assert client.get(url).status_code == 200
    response = client.post(url, {"value": "9", "effective_from": policy.today().isoformat(), "reason": "晚一点"})
    assert response.status_code == 302
    assert policy.get(DIGEST) == 9
    assert AuditEntry.objects.filter(action="create", reason="晚一点").exists()


def test_edit_form_shows_errors_inline_and_saves_nothing(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    response = client.post(reverse("core:policy_edit", args=[DIGEST]),
                           {"value": "30", "effective_from": policy.today().isoformat(), "reason": ""})
    assert response.status_code == 400
    page = response.text
    assert page.count("invalid-feedback") == 2  # value and reason, each under its own field
    assert 'name="value"' in page and "is-invalid" in page
    assert not PolicyValue.objects.exists()


def test_service_errors_also_show_under_their_field(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    response = client.post(reverse("core:policy_edit", args=[DIGEST]),
                           {"value": "9", "effective_from": "2001-01-01", "reason": "补录"})
    assert response.status_code == 400
    assert 'name="effective_from" value="2001-01-01" class="form-control is-invalid"' in response.text
    assert not PolicyValue.objects.exists()


def test_edit_page_of_an_undeclared_key_is_404(client: Any, org: dict[str, Any]) -> None:
    login(client, org["admin"])
    assert client.get(reverse("core:policy_edit", args=["no.such.key"])).status_code == 404


# --- API -----------------------------------------------------------------------------------


def test_api_lists_parameters_with_todays_value_for_any_signed_in_user(org: dict[str, Any]) -> None:
    policy.set_value(actor=org["admin"], key=DIGEST, value=6, effective_from=policy.today(), reason="早")
    policy.set_value(actor=org["admin"], key=UPLOADS, value=40, effective_from=_in_days(1), reason="明天起")
    request = APIRequestFactory().get("/api/v1/policy-params/")
    force_authenticate(request, user=org["rep_east"])
    with translation.override("en"):
        response = PolicyParamViewSet.as_view({"get": "list"})(request)
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.data["results"]}
    assert rows[DIGEST] == {"key": DIGEST, "label": "Hour of the daily notification digest", "value": 6,
                            "default": 8}
    assert rows[UPLOADS]["value"] == 10 and rows[UPLOADS]["default"] == 10


def test_api_refuses_anonymous_users(db: Any) -> None:
    request = APIRequestFactory().get("/api/v1/policy-params/")
    response = PolicyParamViewSet.as_view({"get": "list"})(request)
    assert response.status_code in (401, 403)
