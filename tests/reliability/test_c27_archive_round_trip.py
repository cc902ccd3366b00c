"""RELIABILITY check 27 — export/archive round trip (21 CFR 11.10(b), Annex 11 §8/§9/§17; Zulip
``test_import_realm`` pattern).

``manage.py export_record service.case <id> --out case.json --csv audit.csv`` writes a complaint with its notes,
clocks, every audit entry about them (with the chain hashes) and its electronic signatures (manifest: printed name,
meaning, UTC time, content hash), sealed by a document hash; ``manage.py import_archive`` loads it into an empty
instance as a read-only archive (``service.CaseArchive``: an archive must load without the users, customers and
products it names, and must not splice foreign entries into the instance's own hash chain).

Pass: after export → empty database → import → export again, the record, the audit entries and the signature
manifests are identical; each entry still verifies against its hash; a tampered archive is refused (exit 1); the
"changed since original entry" flag is in the export, on the case page and in the API; QA downloads the archive
from the case page and through the API.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from conftest import DEMO_PASSWORD, login
from pharmacrm.core.audit import audited_create, log_event, verify_chain
from pharmacrm.core.dbguards import install_audit_guard, remove_audit_guard
from pharmacrm.core.models import AuditAction, AuditEntry, Signature
from pharmacrm.org.roles import Role
from pharmacrm.org.services import create_user
from pharmacrm.service import archive, services
from pharmacrm.service.models import Case, CaseArchive


@pytest.fixture
def complaint(org: dict[str, Any]) -> dict[str, Any]:
    """A complaint worked for a while: notes, a correction, a status change and a QA signature."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from pharmacrm.core.approvals import content_hash

    company = org["teams"]["company"]
    agent, qa = (create_user(actor=None, username=name, full_name=full, role=role, team=company,
                             email=f"{name}@example.com", password=DEMO_PASSWORD)
                 for name, full, role in (("agent", "客服小王", Role.SERVICE), ("qa", "质量部秦雅琴", Role.QA)))
    case = services.open_case(actor=agent, institution=org["institution_east"], kind="complaint",
                              title="药品外包装破损", description="收货时发现三盒外包装压痕")
    services.add_note(actor=agent, case=case, body="已联系客户，要求拍照", internal=True)
    services.add_note(actor=agent, case=case, body="已致电客户说明处理方案", internal=False)
    case = services.update_case(actor=agent, case=Case.objects.get(pk=case.pk),
                                changes={"title": "药品外包装破损（三盒）"}, reason="补充数量")
    with transaction.atomic():
        signature = audited_create(Signature, actor=qa, signer=qa, printed_name=qa.get_full_name(),
                                   meaning="review", signed_at=timezone.now(),
                                   content_type=ContentType.objects.get_for_model(Case), object_id=str(case.pk),
                                   content_hash=content_hash(case))
        log_event(AuditAction.SIGN, actor=qa, obj=case, changes={"signature": signature.pk, "meaning": "review"})
    return {**org, "agent": agent, "qa": qa, "case": Case.objects.get(pk=case.pk), "signature": signature}


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(document, sort_keys=True))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_export_empty_instance_import_export_again_is_identical(complaint: dict[str, Any], tmp_path: Path) -> None:
    case = complaint["case"]
    original_file, csv_file = tmp_path / "case.json", tmp_path / "audit.csv"
    call_command("export_record", "service.case", str(case.pk), "--out", str(original_file), "--csv", str(csv_file))
    original = json.loads(original_file.read_text(encoding="utf-8"))

    # what the archive holds
    assert original["record"]["number"] == case.number
    assert original["record"]["fields"]["title"] == "药品外包装破损（三盒）"
    assert original["changed_since_original_entry"] is True
    assert len(original["notes"]) == 2 and len(original["clocks"]) == case.clocks.count()
    trail = original["audit_trail"]
    models_in_trail = {entry["model"] for entry in trail}
    assert {"service.case", "service.casenote", "service.slaclock", "core.signature"} <= models_in_trail
    assert [entry["id"] for entry in trail] == sorted(entry["id"] for entry in trail)
    assert any(entry["action"] == "update" and entry["reason"] == "补充数量" for entry in trail)
    [manifest] = original["signatures"]
    assert manifest["printed_name"] == "质量部秦雅琴" and manifest["meaning"] == "review"
    assert manifest["signed_at"].endswith("+00:00") and len(manifest["content_hash"]) == 64
    assert manifest["valid_at_export"] is True
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert {row["entry"] for row in rows} == {str(entry["id"]) for entry in trail}
    assert any(row["field"] == "title" and row["new"] == "药品外包装破损（三盒）" for row in rows)

    # an empty instance
    remove_audit_guard(connection)
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    install_audit_guard(connection)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()  # the ids cached before the flush are gone with it
    assert not Case.objects.exists() and not AuditEntry.objects.exists()

    out = io.StringIO()
    call_command("import_archive", str(original_file), stdout=out)
    assert "verified" in out.getvalue()
    stored = CaseArchive.objects.get()
    again_file = tmp_path / "again.json"
    call_command("export_record", "service.case", str(stored.pk), "--from-archive", "--out", str(again_file))
    again = json.loads(again_file.read_text(encoding="utf-8"))
    assert _comparable(again) == _comparable(original)
    assert again["record"] == original["record"]
    assert again["audit_trail"] == original["audit_trail"]
    assert again["signatures"] == original["signatures"]
    assert archive.verify(again) == []
    # the import is itself audited in the new instance's chain, which stays intact
    assert AuditEntry.objects.filter(content_type__model="casearchive").count() == 1
    assert verify_chain().ok
    # importing the same file again keeps one copy
    call_command("import_archive", str(original_file), stdout=io.StringIO())
    assert CaseArchive.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["entry", "record", "signature", "not_an_archive"])
def test_a_tampered_archive_is_refused(complaint: dict[str, Any], tmp_path: Path, tamper: str) -> None:
    document = archive.export_case(complaint["case"])
    assert archive.verify(document) == []
    if tamper == "entry":  # edit an audit entry and re-seal the document: the entry's own hash gives it away
        document["audit_trail"][0]["reason"] = "改过"
        document["document_hash"] = archive.seal(document)
    elif tamper == "record":
        document["record"]["fields"]["title"] = "无事发生"
    elif tamper == "signature":
        document["signatures"][0]["printed_name"] = "别人"
    else:
        document = {"hello": "world"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        call_command("import_archive", str(path))
    assert raised.value.returncode == 1
    assert not CaseArchive.objects.exists()


@pytest.mark.django_db
def test_archives_are_read_only(complaint: dict[str, Any]) -> None:
    from pharmacrm.core.querysets import UnauditedBulkWrite

    stored = archive.import_archive(archive.export_case(complaint["case"]), actor=complaint["qa"])
    with pytest.raises(UnauditedBulkWrite):
        CaseArchive.objects.filter(pk=stored.pk).update(case_number="x")
    with pytest.raises(UnauditedBulkWrite):
        stored.save()
    with pytest.raises(UnauditedBulkWrite):
        stored.delete()


@pytest.mark.django_db
def test_changed_flag_on_the_page_and_in_the_api(complaint: dict[str, Any], client: Any, api_client: Any) -> None:
    fresh = services.open_case(actor=complaint["agent"], institution=complaint["institution_east"],
                               kind="consultation", title="用法咨询", description="饭前还是饭后")
    login(client, complaint["qa"])
    changed = client.get(complaint["case"].get_absolute_url()).content.decode()
    assert 'id="case-changed"' in changed and "badge text-bg-warning" in changed.split('id="case-changed"')[0][-80:]
    untouched = client.get(fresh.get_absolute_url()).content.decode()
    assert "badge text-bg-light" in untouched.split('id="case-changed"')[0][-80:]
    api_client.force_authenticate(complaint["qa"])
    assert api_client.get(f"/api/v1/cases/{complaint['case'].pk}/").json()["changed_since_original_entry"] is True
    assert api_client.get(f"/api/v1/cases/{fresh.pk}/").json()["changed_since_original_entry"] is False


@pytest.mark.django_db
def test_qa_downloads_the_archive_from_the_page_and_the_api(complaint: dict[str, Any], client: Any,
                                                             api_client: Any) -> None:
    case = complaint["case"]
    login(client, complaint["qa"])
    page = client.get(case.get_absolute_url()).content.decode()
    assert f'/service/cases/{case.pk}/archive/' in page
    download = client.get(f"/service/cases/{case.pk}/archive/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    document = json.loads(download.content)
    assert document["record"]["pk"] == case.pk and archive.verify(document) == []
    assert AuditEntry.objects.for_object(case).filter(action="export").exists()  # the download is audited
    api_client.force_authenticate(complaint["qa"])
    response = api_client.get(f"/api/v1/cases/{case.pk}/archive/")
    assert response.status_code == 200 and json.loads(response.content)["record"]["number"] == case.number
    # who may not: the rep who sees the case, but is not quality assurance
    login(client, complaint["rep_east"])
    assert f'/service/cases/{case.pk}/archive/' not in client.get(case.get_absolute_url()).content.decode()
    assert client.get(f"/service/cases/{case.pk}/archive/").status_code == 403
    api_client.force_authenticate(complaint["rep_east"])
    assert api_client.get(f"/api/v1/cases/{case.pk}/archive/").status_code == 403
