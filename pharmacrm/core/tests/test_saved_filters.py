"""Saved filters per user (issue 3): save, apply, replace, delete — own only, audited, UI and API alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import CHROMIUM, login
from pharmacrm.core import saved_filters
from pharmacrm.core.models import AuditEntry, SavedFilter

INSTITUTIONS = "customers:institution_list"
SAVE_URL = "/saved-filters/"


def _save(client: Any, name: str, querystring: str = "status=active", list_name: str = INSTITUTIONS,
          **extra: Any) -> Any:
    return client.post(SAVE_URL, {"name": name, "list_name": list_name, "querystring": querystring, **extra})


def _saved_filter_entries() -> Any:
    return AuditEntry.objects.filter(content_type__app_label="core", content_type__model="savedfilter")


def test_saved_query_drops_paging_export_and_empty_fields_and_sorts_keys() -> None:
    assert saved_filters.normalize_querystring("?status=active&kind=pharmacy&page=2&format=csv&q=&tag=2&tag=1") == (
        "kind=pharmacy&status=active&tag=2&tag=1")
    assert saved_filters.normalize_querystring("page=2") == ""


# --- UI: save and apply ---------------------------------------------------------------------------


def test_save_stores_the_query_for_the_user_and_goes_back_to_the_filtered_list(client: Any,
                                                                            org: dict[str, Any]) -> None:
    login(client, org["steward"])
    owner = org["rep_east"].pk
    response = _save(client, "东区我的客户", f"owner={owner}&page=3&format=csv&kind=")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/institutions/?owner={owner}"
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.list_name, saved.name) == (org["steward"], INSTITUTIONS, "东区我的客户")
    assert saved.querystring == f"owner={owner}"  # page, format and empty values are not part of a filter


def test_applying_a_saved_filter_lists_only_the_rows_it_selects(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    _save(client, "东区", f"owner={org['rep_east'].pk}")
    page = client.get(saved_filters.list_url(INSTITUTIONS, SavedFilter.objects.get().querystring)).content.decode()
    assert org["institution_east"].name in page
    assert org["institution_west"].name not in page
    unfiltered = client.get("/customers/institutions/").content.decode()
    assert org["institution_west"].name in unfiltered


def test_list_page_shows_the_users_saved_filters_and_the_save_form(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    _save(client, "东区", f"owner={org['rep_east'].pk}")
    saved = SavedFilter.objects.get()
    page = client.get("/customers/institutions/").content.decode()
    assert 'id="saved-filters"' in page
    assert f'href="?owner={org["rep_east"].pk}"' in page and ">东区</a>" in page
    assert f'action="/saved-filters/{saved.pk}/delete/"' in page
    assert f'name="list_name" value="{INSTITUTIONS}"' in page
    applied = client.get(f"/customers/institutions/?owner={org['rep_east'].pk}&page=1").content.decode()
    assert 'aria-current="true">东区</a>' in applied  # the filter in force is marked


@pytest.mark.parametrize("persona, url, list_name", [
    ("steward", "/customers/institutions/", "customers:institution_list"),
    ("steward", "/customers/contacts/", "customers:contact_list"),
    ("steward", "/customers/licences/", "customers:licence_list"),
    ("steward", "/customers/change-requests/", "customers:changerequest_list"),
    ("admin", "/org/users/", "org:user_list"),
    ("compliance", "/audit/", "core:audit_list"),
])
def test_every_list_page_with_a_filter_bar_offers_saved_filters(client: Any, org: dict[str, Any], persona: str,
                                                                 url: str, list_name: str) -> None:
    login(client, org[persona])
    page = client.get(url + "?status=active&page=2").content.decode()
    assert f'name="list_name" value="{list_name}"' in page
    assert 'name="querystring" value="status=active"' in page
    assert _save(client, "试", "status=active", list_name=list_name)["Location"] == url + "?status=active"


def test_rows_partial_does_not_repeat_the_saved_filters(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    _save(client, "东区")
    response = client.get("/customers/institutions/?status=active", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="rows")
    assert response.status_code == 200 and "saved-filters" not in response.content.decode()


def test_saved_filters_are_personal_on_the_page(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    _save(client, "管理员的筛选")
    login(client, org["leader"])
    assert "管理员的筛选" not in client.get("/customers/institutions/").content.decode()


# --- UI: names, duplicates, overwrite --------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "长" * 81])
def test_empty_or_too_long_name_is_a_field_error_and_writes_nothing(client: Any, org: dict[str, Any],
                                                                    name: str) -> None:
    login(client, org["rep_east"])
    response = _save(client, name)
    assert response.status_code == 400
    page = response.content.decode()
    assert "invalid-feedback" in page and 'name="name"' in page
    assert 'href="/customers/institutions/?status=active"' in page  # Cancel goes back to the list
    assert not SavedFilter.objects.exists() and not _saved_filter_entries().exists()


def test_duplicate_name_is_refused_and_offers_to_replace(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    _save(client, "活跃", "status=active")
    response = _save(client, "活跃", "status=prospect")
    assert response.status_code == 400
    page = response.content.decode()
    assert "您在此列表上已有同名的已保存筛选" in page
    assert 'name="overwrite"' in page
    assert SavedFilter.objects.get().querystring == "status=active"


def test_overwrite_replaces_the_query_of_the_same_name(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    _save(client, "活跃", "status=active")
    response = _save(client, "活跃", "status=prospect", overwrite="on")
    assert response.status_code == 302 and response["Location"] == "/customers/institutions/?status=prospect"
    saved = SavedFilter.objects.get()
    assert saved.querystring == "status=prospect" and saved.version == 2
    assert AuditEntry.objects.for_object(saved).filter(action="update").get().changes == {
        "querystring": ["status=active", "status=prospect"]}


def test_same_name_is_fine_on_another_list_or_for_another_user(client: Any, org: dict[str, Any]) -> None:
    login(client, org["steward"])
    assert _save(client, "活跃")["Location"].startswith("/customers/institutions/")
    assert _save(client, "活跃", list_name="customers:contact_list").status_code == 302
    login(client, org["leader"])
    assert _save(client, "活跃").status_code == 302
    assert SavedFilter.objects.filter(name="活跃").count() == 3


# --- UI: which lists, where to go back ---------------------------------------------------------------


@pytest.mark.parametrize("list_name", [
    "", "no:such_page", "customers:institution_detail",  # needs an id: not a list
    "core:home", "org:logout",  # pages, but not lists
    "//evil.example.com/", "https://evil.example.com/customers/institutions/",
])
def test_unknown_list_name_is_refused_without_a_redirect(client: Any, org: dict[str, Any], list_name: str) -> None:
    login(client, org["steward"])
    response = _save(client, "x", list_name=list_name)
    assert response.status_code == 400
    assert "evil" not in response.get("Location", "")
    assert 'href="/"' in response.content.decode()  # Cancel goes home, not to what was posted
    assert not SavedFilter.objects.exists()


def test_list_the_user_may_not_open_is_refused(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    assert _save(client, "审计", list_name="core:audit_list").status_code == 400
    assert not SavedFilter.objects.exists()


def test_saving_needs_login_and_a_csrf_token(org: dict[str, Any]) -> None:
    anonymous = Client()
    response = _save(anonymous, "x")
    assert response.status_code == 302 and "/login" in response["Location"]
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(org["rep_east"])
    assert _save(guarded, "x").status_code == 403
    assert guarded.get(SAVE_URL).status_code == 405
    assert not SavedFilter.objects.exists()


# --- UI: delete -----------------------------------------------------------------------------------


def test_delete_own_filter_goes_back_to_the_list_and_is_audited(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    _save(client, "活跃")
    saved = SavedFilter.objects.get()
    response = client.post(f"/saved-filters/{saved.pk}/delete/", {"querystring": "kind=pharmacy&page=2"})
    assert response.status_code == 302 and response["Location"] == "/customers/institutions/?kind=pharmacy"
    assert not SavedFilter.objects.exists()
    assert list(AuditEntry.objects.for_object(saved).values_list("action", flat=True).order_by("id")) == [
        "create", "delete"]
    assert client.get(f"/saved-filters/{saved.pk}/delete/").status_code == 405


def test_cannot_delete_someone_elses_filter(client: Any, org: dict[str, Any]) -> None:
    login(client, org["rep_east"])
    _save(client, "东区活跃")
    saved = SavedFilter.objects.get()
    login(client, org["rep_west"])
    assert client.post(f"/saved-filters/{saved.pk}/delete/").status_code == 404
    assert client.post("/saved-filters/999999/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    assert not _saved_filter_entries().filter(action="delete").exists()


# --- audit ----------------------------------------------------------------------------------------


def test_create_and_delete_write_audit_entries_with_the_values(org: dict[str, Any]) -> None:
    rep = org["rep_east"]
    saved = saved_filters.create_saved_filter(actor=rep, list_name=INSTITUTIONS, name="活跃",
                                              querystring="?status=active")
    created = AuditEntry.objects.for_object(saved).get(action="create")
    assert created.actor_id == rep.pk
    assert created.changes["name"] == [None, "活跃"] and created.changes["querystring"] == [None, "status=active"]
    saved_filters.delete_saved_filter(actor=rep, saved_filter=saved)
    deleted = AuditEntry.objects.for_object(saved).get(action="delete")
    assert deleted.actor_id == rep.pk and deleted.changes["list_name"] == [INSTITUTIONS, None]


def test_services_refuse_someone_elses_filter(org: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    saved = saved_filters.create_saved_filter(actor=org["rep_east"], list_name=INSTITUTIONS, name="活跃")
    with pytest.raises(PermissionDenied):
        saved_filters.delete_saved_filter(actor=org["rep_west"], saved_filter=saved)
    with pytest.raises(PermissionDenied):
        saved_filters.update_saved_filter(actor=org["rep_west"], saved_filter=saved, changes={"name": "x"})
    assert SavedFilter.objects.get(pk=saved.pk).name == "活跃"


# --- API ------------------------------------------------------------------------------------------


API = "/api/v1/saved-filters/"


def test_api_create_list_and_filter_by_list_name(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["steward"])
    created = api_client.post(API, {"list_name": INSTITUTIONS, "name": "活跃", "querystring": "status=active&page=2"},
                              format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["querystring"] == "status=active" and body["url"] == "/customers/institutions/?status=active"
    assert AuditEntry.objects.for_object(SavedFilter.objects.get(pk=body["id"])).filter(action="create").exists()
    api_client.post(API, {"list_name": "customers:contact_list", "name": "医生"}, format="json")
    assert {row["name"] for row in api_client.get(API).json()["results"]} == {"活跃", "医生"}
    only = api_client.get(API, {"list_name": INSTITUTIONS}).json()["results"]
    assert [row["name"] for row in only] == ["活跃"]


def test_api_list_never_shows_another_users_filters(api_client: Any, org: dict[str, Any]) -> None:
    saved_filters.create_saved_filter(actor=org["rep_east"], list_name=INSTITUTIONS, name="东区")
    api_client.force_authenticate(org["rep_west"])
    assert api_client.get(API).json()["results"] == []
    assert api_client.get(API, {"list_name": INSTITUTIONS}).json()["results"] == []
    api_client.force_authenticate(org["admin"])  # not even for head office: filters are personal
    assert api_client.get(API).json()["results"] == []


def test_api_cannot_read_change_or_delete_another_users_filter(api_client: Any, org: dict[str, Any]) -> None:
    saved = saved_filters.create_saved_filter(actor=org["rep_east"], list_name=INSTITUTIONS, name="东区",
                                              querystring="status=active")
    api_client.force_authenticate(org["rep_west"])
    url = f"{API}{saved.pk}/"
    assert api_client.get(url).status_code == 404
    assert api_client.patch(url, {"name": "改"}, format="json").status_code == 404
    assert api_client.put(url, {"name": "改"}, format="json").status_code == 404
    assert api_client.delete(url).status_code == 404
    saved.refresh_from_db()
    assert saved.name == "东区" and saved.version == 1


def test_api_update_and_delete_own(api_client: Any, org: dict[str, Any]) -> None:
    saved = saved_filters.create_saved_filter(actor=org["rep_east"], list_name=INSTITUTIONS, name="东区")
    saved_filters.create_saved_filter(actor=org["rep_east"], list_name=INSTITUTIONS, name="西区")
    api_client.force_authenticate(org["rep_east"])
    url = f"{API}{saved.pk}/"
    assert api_client.get(url).json()["name"] == "东区"
    renamed = api_client.patch(url, {"name": " 东区活跃 ", "querystring": "status=active"}, format="json",
                               HTTP_IF_MATCH=api_client.get(url)["ETag"])
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["querystring"]) == ("东区活跃", "status=active")
    duplicate = api_client.patch(url, {"name": "西区"}, format="json", HTTP_IF_MATCH=renamed["ETag"])
    assert duplicate.status_code == 400 and "name" in duplicate.json()["error"]["fields"]
    stale = api_client.patch(url, {"name": "旧"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert api_client.delete(url).status_code == 428  # a blind delete is refused
    assert api_client.delete(url, HTTP_IF_MATCH=renamed["ETag"]).status_code == 204
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()
    assert AuditEntry.objects.for_object(saved).filter(action="delete").exists()


@pytest.mark.parametrize("body, field", [
    ({"list_name": INSTITUTIONS, "name": ""}, "name"),
    ({"list_name": INSTITUTIONS, "name": "长" * 81}, "name"),
    ({"list_name": INSTITUTIONS, "name": "x", "querystring": "q=" + "x" * 2000}, "querystring"),
    ({"list_name": "core:home", "name": "x"}, "list_name"),
    ({"list_name": "https://evil.example.com/", "name": "x"}, "list_name"),
    ({"list_name": "core:audit_list", "name": "x"}, "list_name"),  # a rep may not open the audit search
])
def test_api_bad_input_is_a_field_error_and_writes_nothing(api_client: Any, org: dict[str, Any],
                                                           body: dict[str, Any], field: str) -> None:
    api_client.force_authenticate(org["rep_east"])
    response = api_client.post(API, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not SavedFilter.objects.exists() and not _saved_filter_entries().exists()


def test_api_duplicate_name_needs_overwrite(api_client: Any, org: dict[str, Any]) -> None:
    api_client.force_authenticate(org["rep_east"])
    body = {"list_name": INSTITUTIONS, "name": "活跃", "querystring": "status=active"}
    assert api_client.post(API, body, format="json").status_code == 201
    refused = api_client.post(API, {**body, "querystring": "status=prospect"}, format="json")
    assert refused.status_code == 400 and "name" in refused.json()["error"]["fields"]
    replaced = api_client.post(API, {**body, "querystring": "status=prospect", "overwrite": True}, format="json")
    assert replaced.status_code == 201 and replaced.json()["version"] == 2
    assert SavedFilter.objects.get().querystring == "status=prospect"


def test_api_needs_authentication(api_client: Any, db: Any) -> None:
    assert api_client.get(API).status_code in (401, 403)
    assert api_client.post(API, {"list_name": INSTITUTIONS, "name": "x"}, format="json").status_code in (401, 403)


# --- browser journey on a phone-sized screen -----------------------------------------------------


SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (CI installs it)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_phone_journey_filter_save_apply_delete(org: dict[str, Any], live_server: Any, phone_page: Any) -> None:
    from conftest import DEMO_PASSWORD

    page, owner = phone_page, org["rep_east"].pk
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/customers/institutions/")
    # the filter bar refreshes the rows with htmx; the save form must pick up the query from the URL
    page.select_option("#id_owner", str(owner))
    page.wait_for_url(f"**/customers/institutions/?*owner={owner}*")
    page.fill("#saved-filters input[name=name]", "东区客户")
    page.click("#saved-filters .saved-filter-save button[type=submit]")
    saved = f"owner={owner}&sort=-id"  # the filter bar also sends its sort; empty fields are dropped
    page.wait_for_url(f"{live_server.url}/customers/institutions/?{saved}")
    assert SavedFilter.objects.get().querystring == saved
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "saved-filters-phone.png"), full_page=True)

    page.goto(f"{live_server.url}/customers/institutions/")
    assert org["institution_west"].name in page.inner_text("#rows")
    page.click("#saved-filters >> text=东区客户")
    page.wait_for_url(f"{live_server.url}/customers/institutions/?{saved}")
    assert org["institution_east"].name in page.inner_text("#rows")
    assert org["institution_west"].name not in page.inner_text("#rows")

    page.click("#saved-filters button[form^=saved-filter-delete-]")
    page.wait_for_load_state()
    assert "东区客户" not in page.inner_text("#saved-filters")
    assert not SavedFilter.objects.exists()
