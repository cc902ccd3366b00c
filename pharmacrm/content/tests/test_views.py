"""Content pages and API: the journey (write, approve, preview, send), every role's view, scope per model, and bad
input as field messages, never a 500 or a partial write."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from conftest import login
from pharmacrm.content import services
from pharmacrm.content.models import ContentDelivery, ContentItem, ContentPush
from pharmacrm.content.tests.conftest import LONG_AGO, doctor

pytestmark = pytest.mark.django_db

ROLES = ("rep_east", "rep_west", "manager_east", "regional_east", "marketing", "compliance", "leader", "admin")


@pytest.fixture
def sent(people: dict[str, Any], approved: Any) -> dict[str, Any]:
    """One push of the approved paper to core customers: a doctor in the east and one in the west receive it."""
    people["east_doctor"] = doctor(people, people["institution_east"], "东院医生", ("wechat", "academic", LONG_AGO))
    people["west_doctor"] = doctor(people, people["institution_west"], "西院医生", ("wechat", "academic", LONG_AGO))
    people["push"] = services.send_push(actor=people["marketing"], item=approved, dimension="depth", klass="core",
                                        channel="wechat")
    people["draft"] = services.save_item(actor=people["marketing"], kind="trend", title="县域医疗政策红利",
                                         interpretation="县域医共体建设带来基层用药增量。")
    people["item"] = approved
    return people


def test_write_approve_preview_and_send_through_the_pages(client: Any, people: dict[str, Any]) -> None:
    doctor(people, people["institution_east"], "王医生", ("wechat", "academic", LONG_AGO))
    doctor(people, people["institution_east"], "李医生")
    login(client, people["marketing"])
    response = client.post(reverse("content:item_create"), {
        "kind": "policy", "title": "DRG支付改革对科室用药的影响", "interpretation": "住院用药更看重性价比。",
        "source": "国家医保局 2024 年 DRG/DIP 2.0 版分组方案"})
    item = ContentItem.objects.get()
    assert response.status_code == 302 and response.url == item.get_absolute_url()
    assert b"name=\"send\"" not in client.post(reverse("content:push_create"), {
        "item": item.pk, "segment": "depth:core", "channel": "wechat", "preview": "1"}).content  # not approved yet
    login(client, people["compliance"])
    read = client.get(item.get_absolute_url()).content.decode()
    seen = item.version
    assert f'name="version" value="{seen}"' in read  # the approval names the version compliance read
    services.save_item(actor=people["marketing"], item=item, kind="policy", title=item.title,  # edited meanwhile
                       interpretation="住院用药更看重性价比与疗效。", source=item.source, expected_version=item.version)
    stale = client.post(reverse("content:item_approve", args=[item.pk]), {"version": seen}, follow=True)
    item.refresh_from_db()
    assert not item.approved and "已被他人修改" in stale.content.decode()  # not approved unseen
    assert client.post(reverse("content:item_approve", args=[item.pk]), {"version": item.version}).status_code == 302
    item.refresh_from_db()
    assert item.approved
    login(client, people["marketing"])
    page = client.post(reverse("content:push_create"), {"item": item.pk, "segment": "depth:core", "channel": "wechat",
                                                        "preview": "1"})
    assert page.status_code == 200 and page.context["preview"].will_receive == 1
    assert page.context["preview"].no_consent == 1 and not ContentPush.objects.exists()
    response = client.post(reverse("content:push_create"), {"item": item.pk, "segment": "depth:core",
                                                            "channel": "wechat", "send": "1"})
    push = ContentPush.objects.get()
    assert response.status_code == 302 and response.url == push.get_absolute_url()
    assert "王医生" in client.get(push.get_absolute_url()).content.decode()
    csv = b"".join(client.get(push.get_absolute_url() + "?format=csv").streaming_content).decode()
    assert "王医生" in csv and "李医生" not in csv
    # the customer's and the contact's timeline show it
    login(client, people["rep_east"])
    assert "DRG支付改革" in client.get(people["institution_east"].get_absolute_url()).content.decode()
    contact = ContentDelivery.objects.get().contact
    assert "DRG支付改革" in client.get(contact.get_absolute_url()).content.decode()


def test_editing_an_approved_item_on_the_page_asks_for_approval_again(client: Any, sent: dict[str, Any]) -> None:
    item = sent["item"]
    login(client, sent["marketing"])
    response = client.post(reverse("content:item_edit", args=[item.pk]), {
        "kind": item.kind, "title": item.title, "source": item.source, "interpretation": "新的解读",
        "version": item.version})
    assert response.status_code == 302
    item.refresh_from_db()
    assert not item.approved and item.interpretation == "新的解读"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_with_the_read_right_opens_the_pages(client: Any, sent: dict[str, Any], role: str) -> None:
    login(client, sent[role])
    home = client.get(reverse("content:home"))
    assert home.status_code == 200
    assert reverse("content:home").encode() in home.content  # the navigation entry
    assert client.get(sent["item"].get_absolute_url()).status_code == 200
    assert client.get(reverse("content:delivery_list")).status_code == 200
    head_office = role in ("marketing", "compliance", "leader", "admin")
    assert client.get(sent["push"].get_absolute_url()).status_code == (200 if head_office else 403)
    assert client.get(sent["draft"].get_absolute_url()).status_code == (200 if head_office else 404)
    assert client.get(reverse("content:item_create")).status_code == (200 if role == "marketing" else 403)
    assert client.get(reverse("content:push_create")).status_code == (200 if role == "marketing" else 403)
    assert client.get(reverse("content:schedule_create")).status_code == (200 if role == "marketing" else 403)


def test_roles_without_the_read_right_see_neither_pages_nor_nav(client: Any, sent: dict[str, Any]) -> None:
    login(client, sent["steward"])
    assert client.get(reverse("content:home")).status_code == 403
    assert reverse("content:home").encode() not in client.get(reverse("core:home")).content


def test_scope_of_items_pushes_and_deliveries_per_role(sent: dict[str, Any]) -> None:
    everything = {ContentItem: {sent["item"].pk, sent["draft"].pk}, ContentPush: {sent["push"].pk},
                  ContentDelivery: set(ContentDelivery.objects.values_list("pk", flat=True))}
    east = set(ContentDelivery.objects.filter(contact=sent["east_doctor"]).values_list("pk", flat=True))
    west = set(ContentDelivery.objects.filter(contact=sent["west_doctor"]).values_list("pk", flat=True))
    expected = {
        "rep_east": {ContentItem: {sent["item"].pk}, ContentPush: set(), ContentDelivery: east},
        "rep_west": {ContentItem: {sent["item"].pk}, ContentPush: set(), ContentDelivery: west},
        "manager_east": {ContentItem: {sent["item"].pk}, ContentPush: set(), ContentDelivery: east},
        "regional_east": {ContentItem: {sent["item"].pk}, ContentPush: set(), ContentDelivery: east},
        "steward": {ContentItem: set(), ContentPush: set(), ContentDelivery: set()},
        "marketing": everything, "compliance": everything, "leader": everything, "admin": everything,
    }
    for role, models in expected.items():
        for model, ids in models.items():
            assert set(model.objects.visible_to(sent[role]).values_list("pk", flat=True)) == ids, (role, model)


def test_the_api_mirrors_the_pages_and_its_scope(api_client: Any, sent: dict[str, Any]) -> None:
    api_client.force_authenticate(sent["rep_east"])
    deliveries = api_client.get("/api/v1/content/deliveries/").json()["results"]
    assert [row["contact"] for row in deliveries] == [sent["east_doctor"].pk]
    assert [row["id"] for row in api_client.get("/api/v1/content/items/").json()["results"]] == [sent["item"].pk]
    assert api_client.get(f"/api/v1/content/items/{sent['draft'].pk}/").status_code == 404
    assert api_client.get("/api/v1/content/pushes/").status_code == 403
    assert api_client.post("/api/v1/content/items/", {"kind": "trend", "title": "x", "interpretation": "y"},
                           format="json").status_code == 403
    api_client.force_authenticate(sent["marketing"])
    created = api_client.post("/api/v1/content/items/", {"kind": "trend", "title": "基层市场趋势",
                                                         "interpretation": "县域市场增速高于城市。"}, format="json")
    assert created.status_code == 201 and created.json()["approved"] is False
    item_id = created.json()["id"]
    payload = {"item": item_id, "dimension": "depth", "klass": "potential", "channel": "wechat"}
    assert api_client.post("/api/v1/content/pushes/", payload, format="json").status_code == 400  # not approved
    assert api_client.post(f"/api/v1/content/items/{item_id}/approve/").status_code == 403
    api_client.force_authenticate(sent["compliance"])
    approve = f"/api/v1/content/items/{item_id}/approve/"
    assert api_client.post(approve).status_code == 428  # which version was read?
    read = api_client.get(f"/api/v1/content/items/{item_id}/")["ETag"]
    api_client.force_authenticate(sent["marketing"])  # marketing changes the text after compliance read it
    assert api_client.patch(f"/api/v1/content/items/{item_id}/", {"interpretation": "县域市场增速是城市的两倍。"},
                            format="json", HTTP_IF_MATCH=read).status_code == 200
    api_client.force_authenticate(sent["compliance"])
    assert api_client.post(approve, HTTP_IF_MATCH=read).status_code == 412  # not approved unseen
    assert ContentItem.objects.get(pk=item_id).approved_at is None
    current = api_client.get(f"/api/v1/content/items/{item_id}/")["ETag"]
    assert api_client.post(approve, HTTP_IF_MATCH=current).json()["approved"] is True
    assert api_client.post(approve, HTTP_IF_MATCH=api_client.get(
        f"/api/v1/content/items/{item_id}/")["ETag"]).status_code == 400  # already
    api_client.force_authenticate(sent["marketing"])
    doctor(sent, sent["potential_east"], "潜力医生", ("wechat", "academic", LONG_AGO))
    preview = api_client.post("/api/v1/content/pushes/preview/", payload, format="json")
    assert preview.status_code == 200 and preview.json()["will_receive"] == 1
    push = api_client.post("/api/v1/content/pushes/", payload, format="json")
    assert push.status_code == 201 and push.json()["delivered"] == 1
    edited = api_client.patch(f"/api/v1/content/items/{item_id}/", {"title": "基层市场新趋势"}, format="json",
                              HTTP_IF_MATCH=api_client.get(f"/api/v1/content/items/{item_id}/")["ETag"])
    assert edited.status_code == 200 and edited.json()["approved"] is False


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "item"),
    ({"item": "abc", "dimension": "depth", "klass": "core", "channel": "wechat"}, "item"),
    ({"item": 99999999, "dimension": "depth", "klass": "core", "channel": "wechat"}, "item"),
    ({"item": 2 ** 70, "dimension": "depth", "klass": "core", "channel": "wechat"}, "item"),
    ({"item": "ITEM", "dimension": "depth", "klass": "premium", "channel": "wechat"}, "klass"),
    ({"item": "ITEM", "dimension": "colour", "klass": "core", "channel": "wechat"}, "dimension"),
    ({"item": "ITEM", "dimension": "depth", "klass": "core", "channel": "pigeon"}, "channel"),
    ({"item": "ITEM", "dimension": "depth", "klass": "x" * 10000, "channel": "wechat"}, "klass"),
    ({"item": "ITEM", "dimension": ["depth"], "klass": {"a": 1}, "channel": 5}, "dimension"),
    ({"item": "ITEM"}, "schedule"),
    ({"item": "ITEM", "schedule": 99999999}, "schedule"),
    ({"item": "DRAFT", "dimension": "depth", "klass": "core", "channel": "wechat"}, "item"),
])
def test_bad_pushes_are_field_errors_and_write_nothing(api_client: Any, sent: dict[str, Any], payload: dict[str, Any],
                                                       field: str) -> None:
    payload = {key: {"ITEM": sent["item"].pk, "DRAFT": sent["draft"].pk}.get(value, value)
               if isinstance(value, str) else value for key, value in payload.items()}
    api_client.force_authenticate(sent["marketing"])
    before = (ContentPush.objects.count(), ContentDelivery.objects.count())
    for url in ("/api/v1/content/pushes/", "/api/v1/content/pushes/preview/"):
        response = api_client.post(url, payload, format="json")
        assert response.status_code == 400, response.content
        assert field in str(response.json()), response.json()
    assert (ContentPush.objects.count(), ContentDelivery.objects.count()) == before


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "kind"),
    ({"kind": "literature", "title": "无出处文献", "interpretation": "解读"}, "source"),
    ({"kind": "trend", "title": "x" * 201, "interpretation": "y"}, "title"),
    ({"kind": "trend", "title": "t", "interpretation": "y" * 100_000}, "interpretation"),
    ({"kind": "trend", "title": ["t"], "interpretation": 5}, "title"),
    ({"kind": "trend", "title": "t", "interpretation": "y", "source_url": "javascript:alert(1)"}, "source_url"),
    ({"kind": "gossip", "title": "t", "interpretation": "y"}, "kind"),
])
def test_bad_items_are_field_errors(api_client: Any, sent: dict[str, Any], payload: dict[str, Any],
                                    field: str) -> None:
    api_client.force_authenticate(sent["marketing"])
    before = ContentItem.objects.count()
    response = api_client.post("/api/v1/content/items/", payload, format="json")
    assert response.status_code == 400 and field in str(response.json()), response.content
    assert ContentItem.objects.count() == before


def test_out_of_scope_and_malformed_ids_are_not_found(api_client: Any, client: Any, sent: dict[str, Any]) -> None:
    api_client.force_authenticate(sent["rep_east"])
    west = ContentDelivery.objects.get(contact=sent["west_doctor"])
    assert api_client.get(f"/api/v1/content/deliveries/{west.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/content/deliveries/{2 ** 70}/").status_code == 404
    assert api_client.get("/api/v1/content/deliveries/?push=abc").status_code == 400
    login(client, sent["marketing"])
    assert client.get(reverse("content:item_detail", args=[2 ** 62])).status_code == 404
    page = client.post(reverse("content:push_create"), {"item": "abc", "segment": "depth:premium", "channel": "x"})
    assert page.status_code == 400 and not ContentPush.objects.exclude(pk=sent["push"].pk).exists()


def test_an_attachment_follows_the_upload_rules_and_a_new_one_needs_approval(client: Any, sent: dict[str, Any],
                                                                             settings: Any, tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    item = sent["item"]
    login(client, sent["marketing"])
    fields = {"kind": item.kind, "title": item.title, "source": item.source, "interpretation": item.interpretation}
    refused = client.post(reverse("content:item_edit", args=[item.pk]), {
        **fields, "version": item.version, "attachment": SimpleUploadedFile("x.pdf", b"<html><script>1</script>")})
    assert refused.status_code == 400
    item.refresh_from_db()
    assert item.approved and item.attachment is None  # nothing half-written
    response = client.post(reverse("content:item_edit", args=[item.pk]), {
        **fields, "version": item.version, "attachment": SimpleUploadedFile("指南.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj")})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.attachment.original_name == "指南.pdf" and not item.approved
    login(client, sent["rep_east"])  # the rep sees approved items only, so not this one any more
    assert client.get(item.get_absolute_url()).status_code == 404
