"""Importing customer master data from spreadsheets: every error class, upserts, modes, scope, pages."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import login
from pharmacrm.core import imports
from pharmacrm.core.models import AuditEntry, ImportJob, ImportMode, ImportStatus
from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.core.tabular import read_table
from pharmacrm.customers.choices import QualificationStatus, ReviewStatus
from pharmacrm.customers.models import Contact, Institution, Licence
from pharmacrm.customers.search import search_institutions

GOOD_USCC = "91110108551385082Q"
OTHER_USCC = "12310000425005525E"
PILOT_USCC = "91350100M0001TGQXM"  # fails the check character

HEADER = "客户编码,客户名称*,统一社会信用代码,客户类型,医院等级,省份,城市,区县,电话,床位数,负责代表,标签,曾用名"


def _csv(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile("客户.csv", ("\n".join([header, *lines]) + "\n").encode(encoding), "text/csv")


def _xlsx(rows: list[list[Any]], name: str = "客户.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), imports.XLSX_MIME)


@pytest.fixture
def run_now(django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> Any:
    """Run queued import tasks in-process (the worker's job) when the request's transaction commits."""
    from pharmacrm.core import tasks

    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: imports.run(job_id, commit=commit))

    def runner(function: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            result = function(*args, **kwargs)
        return result
    return runner


def _check(run_now: Any, actor: Any, upload: Any, kind: str = "customers.institution",
           mode: str = ImportMode.ALL_OR_NOTHING, mapping: dict[str, str] | None = None) -> ImportJob:
    job = imports.start(actor=actor, kind=kind, upload=upload)
    run_now(imports.configure, actor=actor, job=job, mapping=mapping if mapping is not None else job.mapping,
            mode=mode)
    job.refresh_from_db()
    return job


def _commit(run_now: Any, actor: Any, job: ImportJob) -> ImportJob:
    run_now(imports.commit, actor=actor, job=job)
    job.refresh_from_db()
    return job


def _errors(job: ImportJob) -> dict[tuple[int, str], str]:
    return {(error["row"], error["column"]): error["message"] for error in job.errors}


# --- happy path and upsert ---------------------------------------------------------------------------------


def test_steward_imports_new_institutions_findable_by_pinyin(org: dict[str, Any], run_now: Any) -> None:
    steward = org["steward"]
    upload = _csv(f"C100,北京协和医院,{GOOD_USCC},公立医院,三级甲等,北京,北京市,东城区,010-69156114,2000,rep_east,"
                  "重点；教学,协和医院",
                  "C101,上海仁济药房,,单体药店,,上海市,,浦东新区,,,rep_east,,")
    job = _check(run_now, steward, upload)
    assert job.status == ImportStatus.CHECKED and job.total_rows == 2 and job.error_rows == 0, job.errors
    assert not Institution.objects.filter(code__in=["C100", "C101"]).exists()  # a dry run writes nothing

    job = _commit(run_now, steward, job)
    assert job.status == ImportStatus.DONE and (job.created_count, job.updated_count) == (2, 0)
    pumch = Institution.objects.get(code="C100")
    assert (pumch.uscc, pumch.kind, pumch.hospital_grade, pumch.division_id) == (GOOD_USCC, "public_hospital", "3A",
                                                                                  "110101")
    assert (pumch.province_code, pumch.city_code, pumch.phone, pumch.bed_count) == ("110000", "110100",
                                                                                   "010-69156114", 2000)
    assert pumch.owner == org["rep_east"] and pumch.team == org["rep_east"].team
    assert pumch.review_status == ReviewStatus.APPROVED and pumch.aliases == ["协和医院"]
    assert sorted(pumch.tags.values_list("name", flat=True)) == ["教学", "重点"]
    assert pumch.qualification_status == QualificationStatus.MISSING  # no licences yet
    assert Institution.objects.get(code="C101").division_id == "310115"
    assert AuditEntry.objects.filter(object_id=str(pumch.pk), action="create").exists()
    # the rep finds the new customer by pinyin initials
    found = search_institutions(Institution.objects.visible_to(org["rep_east"]), "bjxh", org["rep_east"])
    assert list(found) == [pumch]


def test_upsert_by_code_or_uscc_changes_only_filled_cells(org: dict[str, Any], run_now: Any) -> None:
    steward = org["steward"]
    job = _commit(run_now, steward, _check(run_now, steward, _csv(
        f"C100,北京协和医院,{GOOD_USCC},公立医院,三级甲等,北京,北京市,东城区,010-69156114,2000,rep_east,,")))
    assert job.created_count == 1
    # second file: same USCC without a code, new bed count; empty cells keep the stored values
    job = _commit(run_now, steward, _check(run_now, steward, _csv(
        f",北京协和医院,{GOOD_USCC},,,,,,,2500,,,")))
    assert (job.created_count, job.updated_count) == (0, 1), job.errors
    pumch = Institution.objects.get(uscc=GOOD_USCC)
    assert (pumch.code, pumch.bed_count, pumch.phone, pumch.hospital_grade) == ("C100", 2500, "010-69156114", "3A")
    assert Institution.objects.filter(name="北京协和医院").count() == 1


# --- every error class --------------------------------------------------------------------------------------


def test_gbk_csv_is_read(org: dict[str, Any], run_now: Any) -> None:
    job = _check(run_now, org["steward"], _csv("C1,成都市第三人民医院,,公立医院,,四川省,成都市,青羊区,,,rep_west,,",
                                               encoding="gb18030"))
    assert job.error_rows == 0 and job.total_rows == 1, job.errors


def test_bad_encoding_is_refused_at_upload(org: dict[str, Any]) -> None:
    broken = SimpleUploadedFile("x.csv", HEADER.encode() + b"\nC1,\xff\xfe\xfa\xfb\xfc,,,\n", "text/csv")
    with pytest.raises(ValidationError) as excinfo:
        imports.start(actor=org["steward"], kind="customers.institution", upload=broken)
    assert "file" in excinfo.value.message_dict
    assert not ImportJob.objects.exists()


def test_missing_required_column_is_reported(org: dict[str, Any], run_now: Any) -> None:
    upload = _csv("C1,四川省", header="客户编码,省份")
    job = imports.start(actor=org["steward"], kind="customers.institution", upload=upload)
    with pytest.raises(ValidationError) as excinfo:
        imports.configure(actor=org["steward"], job=job, mapping=job.mapping, mode=ImportMode.ALL_OR_NOTHING)
    assert "客户名称" in str(excinfo.value.message_dict["mapping"])


def test_row_errors_by_column(org: dict[str, Any], run_now: Any) -> None:
    upload = _csv(
        f"C1,甲医院,{PILOT_USCC},公立医院,,北京,北京市,东城区,,,rep_east,,",         # row 2: bad check character
        "C2,乙医院,1234,公立医院,,北京,北京市,东城区,,,rep_east,,",                    # row 3: USCC too short
        "C3,丙医院,,公立医院,,火星省,,,,,rep_east,,",                                   # row 4: unknown region
        "C4,丁医院,,宇宙医院,,北京,北京市,东城区,,,rep_east,,",                         # row 5: unknown type
        "C5,戊医院,,公立医院,,北京,北京市,东城区,12345,很多,rep_east,,",                # row 6: phone, beds
        "C5,己医院,,公立医院,,北京,北京市,东城区,,,nobody,,",                           # row 7: dup code, owner
        "C7,,,公立医院,,北京,北京市,东城区,,,rep_east,,",                               # row 8: no name
        "C8,庚医院,,公立医院,,北京,北京市,东城区,,,rep_east,,",                         # row 9: valid
    )
    job = _check(run_now, org["steward"], upload)
    errors = _errors(job)
    assert (job.total_rows, job.error_rows) == (8, 7)
    assert "校验位" in errors[(2, "统一社会信用代码")]
    assert "18" in errors[(3, "统一社会信用代码")]
    assert "火星省" in errors[(4, "省份")]
    assert "宇宙医院" in errors[(5, "客户类型")]
    assert (6, "电话") in errors and (6, "床位数") in errors
    assert "第 6 行" in errors[(7, "客户编码")] and "nobody" in errors[(7, "负责代表")]
    assert (8, "客户名称") in errors
    # all or nothing: the import is refused while any row has an error
    with pytest.raises(ValidationError):
        imports.commit(actor=org["steward"], job=job)
    # the rejected rows come back as a workbook with an error column
    assert job.rejected_file is not None
    with job.rejected_file.file.open("rb") as handle:
        table = read_table(handle, max_bytes=10**7, max_rows=100)
        rows = list(table)
    assert table.headers[-1] == "错误"
    assert len(rows) == 7 and rows[0].values[1] == "甲医院"


def test_duplicate_uscc_in_the_file(org: dict[str, Any], run_now: Any) -> None:
    job = _check(run_now, org["steward"], _csv(
        f"C1,甲医院,{GOOD_USCC},公立医院,,北京,北京市,东城区,,,rep_east,,",
        f"C2,乙医院,{GOOD_USCC},公立医院,,北京,北京市,东城区,,,rep_east,,"))
    assert "第 2 行" in _errors(job)[(3, "统一社会信用代码")]


def test_formula_cells_are_refused(org: dict[str, Any], run_now: Any) -> None:
    upload = _xlsx([["客户名称", "客户类型", "省份", "城市", "区县", "负责代表", "床位数"],
                    ["甲医院", "公立医院", "北京", "北京市", "东城区", "rep_east", "=100*2"],
                    ["乙医院", "公立医院", "北京", "北京市", "东城区", "rep_east", "300"]])
    job = _check(run_now, org["steward"], upload)
    assert "公式" in _errors(job)[(2, "床位数")] and job.error_rows == 1


def test_file_over_the_size_limit_is_refused(org: dict[str, Any], settings: Any) -> None:
    limit = 20 * 1024 * 1024
    big = SimpleUploadedFile("big.csv", HEADER.encode() + b"\n" + b"x" * limit, "text/csv")
    with pytest.raises(ValidationError) as excinfo:
        imports.start(actor=org["steward"], kind="customers.institution", upload=big)
    assert "20" in str(excinfo.value.message_dict["file"])
    assert not ImportJob.objects.exists()


def test_out_of_scope_owner_and_existing_customer_for_a_manager(org: dict[str, Any], run_now: Any) -> None:
    manager = org["manager_east"]
    job = _check(run_now, manager, _csv(
        "M1,华东新药房,,单体药店,,上海市,,徐汇区,,,rep_west,,",           # rep_west is outside the team
        "M2,华东新诊所,,诊所/门诊部,,上海市,,徐汇区,,,rep_east,,",
        ",复旦大学附属中山医院,,公立医院,,上海市,,徐汇区,,,rep_east,,"))  # same name and district exists
    errors = _errors(job)
    assert "不在您的团队中" in errors[(2, "负责代表")]
    assert (4, "客户名称") in errors
    job.mode = ImportMode.VALID_ROWS
    with allow_bulk_writes():  # a raw fixture change: the mode as if chosen on the page
        job.save(update_fields=["mode"])
    job = _commit(run_now, manager, job)
    assert (job.status, job.created_count) == (ImportStatus.DONE, 1)
    clinic = Institution.objects.get(code="M2")
    assert clinic.review_status == ReviewStatus.PENDING  # a manager's new customer waits for the steward
    assert not Institution.objects.filter(code="M1").exists()


def test_rep_cannot_import(org: dict[str, Any]) -> None:
    with pytest.raises(Exception) as excinfo:
        imports.start(actor=org["rep_east"], kind="customers.institution", upload=_csv("C1,甲,,公立医院"))
    assert excinfo.type.__name__ == "PermissionDenied"


def test_valid_rows_mode_imports_the_rest(org: dict[str, Any], run_now: Any) -> None:
    job = _check(run_now, org["steward"], _csv(
        "C1,甲医院,,公立医院,,北京,北京市,东城区,,,rep_east,,",
        "C2,乙医院,,公立医院,,北京,北京市,不存在区,,,rep_east,,"), mode=ImportMode.VALID_ROWS)
    job = _commit(run_now, org["steward"], job)
    assert (job.status, job.created_count, job.error_rows) == (ImportStatus.DONE, 1, 1)
    assert list(Institution.objects.filter(code__in=["C1", "C2"]).values_list("code", flat=True)) == ["C1"]


def test_commit_is_all_or_nothing_when_a_row_fails_at_write_time(org: dict[str, Any], run_now: Any,
                                                                  monkeypatch: Any) -> None:
    job = _check(run_now, org["steward"], _csv(*[f"C{i},医院{i},,公立医院,,北京,北京市,东城区,,,rep_east,,"
                                                 for i in range(1500)]))
    assert job.error_rows == 0
    from pharmacrm.customers import importers

    original = importers.InstitutionImporter.write
    calls = []

    def crash_on_second_chunk(self: Any, chunk: Any) -> Any:
        calls.append(len(chunk))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, chunk)

    monkeypatch.setattr(importers.InstitutionImporter, "write", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        _commit(run_now, org["steward"], job)
    assert not Institution.objects.filter(code__startswith="C").exists()  # the first chunk was rolled back
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED


# --- contacts and licences ----------------------------------------------------------------------------------


def test_contacts_and_licences_import(org: dict[str, Any], run_now: Any) -> None:
    steward, hospital = org["steward"], org["institution_east"]
    contacts = _csv("复旦大学附属中山医院,张伟,男,心内科,主任医师,决策者,是,138 1234 5678",
                    "复旦大学附属中山医院,李娜,女,药剂科,,采购,否,1381234567",      # bad mobile
                    "不存在的医院,王芳,女,,,,,",
                    header="所属机构,姓名,性别,科室,职称,决策角色,关键联系人,手机")
    job = _check(run_now, steward, contacts, kind="customers.contact", mode=ImportMode.VALID_ROWS)
    errors = _errors(job)
    assert (3, "手机") in errors and (4, "所属机构") in errors
    job = _commit(run_now, steward, job)
    zhang = Contact.objects.get(name="张伟")
    assert (zhang.institution, zhang.mobile, zhang.title, zhang.is_key_contact) == (hospital, "13812345678",
                                                                                     "chief_physician", True)
    assert zhang.affiliations.filter(institution=hospital).exists()

    licences = _csv("复旦大学附属中山医院,医疗机构执业许可证,PDY001,2021-01-01,2030-12-31,",
                    "复旦大学附属中山医院,采购委托书,WT-1,2025-01-01,2027-01-01,",  # names no purchaser
                    header="所属机构,证照类型,证照编号,有效期起,有效期至,被委托人")
    job = _check(run_now, steward, licences, kind="customers.licence", mode=ImportMode.VALID_ROWS)
    assert (3, "被委托人") in _errors(job)
    job = _commit(run_now, steward, job)
    licence = Licence.objects.get(number="PDY001")
    assert licence.review_status == ReviewStatus.APPROVED and licence.reviewed_by == steward
    hospital.refresh_from_db()
    assert hospital.qualification_status == QualificationStatus.QUALIFIED


def test_contacts_of_customers_outside_scope_are_not_found(org: dict[str, Any], run_now: Any) -> None:
    manager = org["manager_east"]
    job = _check(run_now, manager, _csv("四川大学华西医院,赵敏", header="所属机构,姓名"), kind="customers.contact")
    assert "四川大学华西医院" in _errors(job)[(2, "所属机构")]


def _national_scale_statistics(connection: Any) -> None:
    """Make SQLite plan as on a 1.8M-row book (its statistics, as ANALYZE leaves them there): most rows
    without a USCC, names nearly unique, almost none merged. Rolled back with the test."""
    table = Institution._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [table])
        indexes = {name: [column for _seq, _cid, column in cursor.execute(f"PRAGMA index_info('{name}')")]
                   for _seq, name, *_rest in list(cursor.execute(f"PRAGMA index_list('{table}')"))}
        rows_per_value = {"uscc": 600_000, "merged_into_id": 1_800_000, "kind": 200_000, "status": 450_000,
                          "review_status": 1_800_000, "qualification_status": 600_000}
        for name, columns in indexes.items():
            stat = " ".join(["1800000"] + [str(rows_per_value.get(column, 2)) for column in columns])
            cursor.execute("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", [table, name, stat])
        cursor.execute("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, NULL, '1800000')", [table])
        cursor.execute("ANALYZE sqlite_schema")  # reload the statistics


def test_lookups_by_code_uscc_and_name_read_indexes_not_the_whole_table(org: dict[str, Any], run_now: Any) -> None:
    """At 1.8M institutions a full scan per chunk made a 5,000-row dry run take 6 s instead of 0.7 s."""
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's query plans")
    _national_scale_statistics(connection)
    institutions = _csv(f"C1,新药房,{GOOD_USCC},单体药店,,上海,上海市,徐汇区,,,rep_east,,")
    contacts = _csv("复旦大学附属中山医院,张伟", header="所属机构,姓名")
    table = Institution._meta.db_table
    scans = []
    try:
        with CaptureQueriesContext(connection) as queries:
            _check(run_now, org["steward"], institutions)
            _check(run_now, org["steward"], contacts, kind="customers.contact")
        with connection.cursor() as cursor:
            for query in queries.captured_queries:
                sql = query["sql"]
                if sql.startswith("SELECT") and table in sql:
                    cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                    scans += [sql for *_ids, detail in cursor.fetchall() if detail == f"SCAN {table}"]
    finally:
        with connection.cursor() as cursor:  # later tests plan without statistics, as before
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.execute("ANALYZE sqlite_schema")
    assert not scans


# --- template and pages -------------------------------------------------------------------------------------


def test_template_reads_back_with_every_column_matched(org: dict[str, Any]) -> None:
    for importer in imports.importers_for(org["steward"]):
        content = imports.template_file(importer)
        table = read_table(content, max_bytes=10**6, max_rows=10)
        mapping = imports.proposed_mapping(importer, table.headers)
        assert set(mapping.values()) == {column.key for column in importer.columns}, importer.kind


def test_pages_upload_map_check_and_import(client: Any, org: dict[str, Any], run_now: Any) -> None:
    login(client, org["steward"])
    assert client.get(reverse("imports:list")).status_code == 200
    response = client.get(reverse("imports:template", args=["customers.institution"]))
    assert response.status_code == 200 and response["Content-Type"] == imports.XLSX_MIME
    response = client.post(reverse("imports:new"), {"kind": "customers.institution", "file": _csv(
        "C9,杭州市第一人民医院,,公立医院,三级甲等,浙江,杭州,上城区,,,rep_east,,")})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:detail", args=[job.pk])
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert page.status_code == 200 and "column_1" in page.content.decode()
    form = {f"column_{index}": job.mapping.get(header, "") for index, header in enumerate(job.headers)}
    response = run_now(client.post, reverse("imports:configure", args=[job.pk]), {**form, "mode": "all"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED and job.error_rows == 0, job.errors
    run_now(client.post, reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert Institution.objects.get(code="C9").division_id == "330102"
    # a broken upload is a field error on the page, not a 500
    response = client.post(reverse("imports:new"), {"kind": "customers.institution",
                                                    "file": SimpleUploadedFile("x.csv", b"", "text/csv")})
    assert response.status_code == 400


def test_jobs_are_scoped_and_reps_have_no_import_pages(client: Any, org: dict[str, Any], run_now: Any) -> None:
    job = imports.start(actor=org["manager_east"], kind="customers.institution", upload=_csv("C1,甲,,公立医院"))
    assert list(ImportJob.objects.visible_to(org["manager_east"])) == [job]
    assert list(ImportJob.objects.visible_to(org["steward"])) == [job]  # stewards see every import
    login(client, org["regional_east"])
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 404
    login(client, org["rep_east"])
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 404


# --- API ----------------------------------------------------------------------------------------------------


def test_api_upload_check_commit(api_client: Any, org: dict[str, Any], run_now: Any) -> None:
    api_client.force_authenticate(org["steward"])
    response = api_client.post("/api/v1/import-jobs/", {"kind": "customers.institution", "file": _csv(
        "A1,南京鼓楼医院,,公立医院,三级甲等,江苏,南京,鼓楼区,,,rep_east,,",
        "A2,南京某医院,,公立医院,,江苏,南京,玄武湖区,,,rep_east,,")}, format="multipart")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    assert response.json()["mapping"]["客户名称*"] == "name"
    response = run_now(api_client.post, f"/api/v1/import-jobs/{job_id}/check/", {"mode": "valid"}, format="json")
    assert response.status_code == 202
    job = api_client.get(f"/api/v1/import-jobs/{job_id}/").json()
    assert (job["status"], job["total_rows"], job["error_rows"]) == ("checked", 2, 1)
    assert job["errors"][0]["row"] == 3 and "玄武湖区" in job["errors"][0]["message"]
    response = run_now(api_client.post, f"/api/v1/import-jobs/{job_id}/commit/")
    assert response.status_code == 202
    assert api_client.get(f"/api/v1/import-jobs/{job_id}/").json()["created_count"] == 1
    # bad input: unknown kind and an empty file are field errors, not 500s
    response = api_client.post("/api/v1/import-jobs/", {"kind": "nope", "file": _csv("x")}, format="multipart")
    assert response.status_code == 400 and "kind" in response.json()["error"]["fields"]
    response = api_client.post("/api/v1/import-jobs/", {"kind": "customers.institution",
                                                         "file": SimpleUploadedFile("e.csv", b"", "text/csv")},
                               format="multipart")
    assert response.status_code == 400


def test_api_jobs_are_scoped(api_client: Any, org: dict[str, Any]) -> None:
    job = imports.start(actor=org["steward"], kind="customers.institution", upload=_csv("C1,甲,,公立医院"))
    api_client.force_authenticate(org["manager_east"])
    assert api_client.get("/api/v1/import-jobs/").json()["results"] == []
    assert api_client.get(f"/api/v1/import-jobs/{job.pk}/").status_code == 404
    api_client.force_authenticate(org["rep_east"])
    assert api_client.get("/api/v1/import-jobs/").status_code == 403


# --- kill -9 mid-import -------------------------------------------------------------------------------------


@pytest.mark.slow  # a worker process killed with SIGKILL
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_kill_9_mid_import_leaves_nothing_and_the_job_runs_again(org: dict[str, Any], monkeypatch: Any) -> None:
    """The worker dies (SIGKILL) after writing the first chunk inside the commit transaction:
    nothing is in the database, the job shows as interrupted once stale, and a re-run imports all."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from django.conf import settings
    from django.db import connection

    from pharmacrm.core import tasks

    monkeypatch.setattr(tasks, "run_import", lambda job_id, commit: None)  # this test plays the worker
    steward = org["steward"]
    rows = [f"K{i:05d},杀进程测试医院{i},,公立医院,,北京,北京市,东城区,,,rep_east,," for i in range(2600)]
    job = imports.start(actor=steward, kind="customers.institution", upload=_csv(*rows))
    job = imports.configure(actor=steward, job=job, mapping=job.mapping, mode=ImportMode.ALL_OR_NOTHING)
    job = imports.run(job.pk, commit=False)
    assert (job.status, job.error_rows) == (ImportStatus.CHECKED, 0)
    job = imports.commit(actor=steward, job=job)

    script = (
        "import os, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'pharmacrm.settings')\n"
        "from django.conf import settings\n"
        f"settings.DATABASES['default']['NAME'] = {str(connection.settings_dict['NAME'])!r}\n"
        "django.setup()\n"
        "from pharmacrm.core import imports\n"
        f"imports.run({job.pk}, commit=True)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        while imports.progress(job)[0] < imports.CHUNK_ROWS:  # the first chunk is written, not committed
            assert worker.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert not Institution.objects.filter(code__startswith="K").exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTING and job.created_count == 0

    monkeypatch.setattr(imports, "STALE_SECONDS", 0)
    assert imports.is_interrupted(job)
    job = imports.commit(actor=steward, job=job)  # "run it again" from the page
    job = imports.run(job.pk, commit=True)
    assert (job.status, job.created_count) == (ImportStatus.DONE, 2600)
    assert Institution.objects.filter(code__startswith="K").count() == 2600
