"""Spreadsheet reading and writing: what Chinese Excel produces reads back as typed; hostile files are refused."""

from __future__ import annotations

import codecs
import datetime
import io
import pickle
import zipfile
from typing import Any

import openpyxl
import pytest
from defusedxml import DefusedXmlException
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from openpyxl.worksheet.formula import ArrayFormula

from pharmacrm.core.tabular import Column, TabularError, match_columns, read_table, write_xlsx

MB = 1024 * 1024
LIMITS = {"max_bytes": 10 * MB, "max_rows": 1000}
HEADER = "客户名称,统一社会信用代码,电话\n"


def read(data: bytes, **overrides: Any) -> tuple[Any, list[Any]]:
    table = read_table(data, **{**LIMITS, **overrides})
    return table, list(table.rows)


def refusal(data: Any, **overrides: Any) -> TabularError:
    with pytest.raises(TabularError) as caught:
        table = read_table(data, **{**LIMITS, **overrides})
        list(table.rows)
    return caught.value


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
                  + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
                  + "]>")


def raw_xlsx(sheet_data: str, shared_strings: list[str] = (), *, dimension: str = "",  # type: ignore[assignment]
             doctype_in: str = "") -> bytes:
    """An xlsx written part by part the way Excel does (shared strings, a <dimension>),
    which openpyxl's own writer does not produce, and which lets a test plant a DTD."""
    sst_doctype = BILLION_LAUGHS if doctype_in == "sharedStrings" else ""
    sheet_doctype = BILLION_LAUGHS if doctype_in == "sheet" else ""
    strings = "".join(f"<si><t>{text}</t></si>" for text in shared_strings)
    if sst_doctype:
        strings += "<si><t>&lol9;</t></si>"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{REL_NS}"><Relationship Id="rId1" Type="{DOC_REL}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}"><sheets>'
                            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{REL_NS}">'
            f'<Relationship Id="rId1" Type="{DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{DOC_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{MAIN_NS}"><fonts count="1"><font><sz val="11"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
        "xl/sharedStrings.xml": f'<?xml version="1.0"?>{sst_doctype}<sst xmlns="{MAIN_NS}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0"?>{sheet_doctype}<worksheet xmlns="{MAIN_NS}">'
            + (f'<dimension ref="{dimension}"/>' if dimension else "")
            + f"<sheetData>{sheet_data}</sheetData></worksheet>"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# --- CSV encodings ---


@pytest.mark.parametrize(("encode", "encoding"), [
    (lambda text: text.encode("utf-8"), "utf-8"),
    (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
    (lambda text: text.encode("gb18030"), "gb18030"),
    (lambda text: text.encode("utf-16"), "utf-16"),
])
def test_csv_in_every_encoding_excel_writes_reads_the_same(encode: Any, encoding: str) -> None:
    text = HEADER + "䶮𠀀诊所,91310000MA1FL0000X,13812345678\n"
    table, rows = read(encode(text))
    assert table.format == "csv" and table.encoding == encoding
    assert table.headers == ["客户名称", "统一社会信用代码", "电话"]
    assert rows[0].values == ["䶮𠀀诊所", "91310000MA1FL0000X", "13812345678"]


def test_gbk_file_is_read_as_gb18030() -> None:
    table, rows = read((HEADER + "上海市第一人民医院,12310000425006117P,021-63240090\n").encode("gbk"))
    assert table.encoding == "gb18030"
    assert rows[0].values[0] == "上海市第一人民医院"


def test_bytes_no_encoding_can_read_are_refused_with_their_position() -> None:
    error = refusal(b"name,phone\nabc,123\n\x80\xff,1\n")
    assert error.code == "encoding"
    assert error.params == {"offset": 19, "line": 3}
    with translation.override("en"):
        assert "offset 19 (line 3)" in str(error)


def test_an_error_survives_pickling_for_background_jobs() -> None:
    error = pickle.loads(pickle.dumps(refusal(b"a,b\n\x80\xff\n")))
    assert error.code == "encoding" and error.params["line"] == 2
    with translation.override("en"):
        assert "line 2" in str(error)


def test_damaged_utf8_is_refused_rather_than_read_as_gb18030_mojibake() -> None:
    data = (HEADER + "上海市第一人民医院,X,1\n").encode("utf-8") + b"\xe4\xb8" + b",Y,2\n"
    error = refusal(data)
    assert error.code == "encoding" and error.params["line"] == 3


# --- CSV shape ---


@pytest.mark.parametrize("delimiter", ["\t", ";", ","])
def test_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    text = delimiter.join(["名称", "地址", "备注"]) + "\n" + delimiter.join(["甲", '"上海市, 浦东新区; 张江"', "x"]) + "\n"
    table, rows = read(text.encode())
    assert table.delimiter == delimiter
    assert rows[0].values == ["甲", "上海市, 浦东新区; 张江", "x"]


def test_excel_sep_directive_picks_the_delimiter_and_is_not_a_row() -> None:
    table, rows = read(b"sep=;\nname;city\nA;B\n")
    assert table.headers == ["name", "city"] and table.header_row == 1
    assert [(row.number, row.values) for row in rows] == [(2, ["A", "B"])]


def test_blank_rows_are_skipped_and_row_numbers_match_what_excel_shows() -> None:
    text = '\n名称 , 电话\n\n  甲  , 1\n , \n"乙\n二楼",2\n丙\n'
    table, rows = read(text.encode())
    assert table.header_row == 2 and table.headers == ["名称", "电话"]
    assert [(row.number, row.values) for row in rows] == [(4, ["甲", "1"]), (6, ["乙\n二楼", "2"]), (7, ["丙", ""])]


def test_csv_cells_that_excel_would_evaluate_are_reported_not_phones_or_negative_numbers() -> None:
    text = "a,b,c,d,e,f,g\n=1+2,+86 138 1234 5678,-3.5,@SUM(A1),-2+3+cmd|' /C calc'!A0,-,x=y\n"
    _table, rows = read(text.encode())
    assert rows[0].formula_columns == {0, 3, 4}
    assert rows[0].values[0] == "=1+2"


@pytest.mark.parametrize("data", [
    "名称,地址\n甲,上海市,浦东新区\n乙,北京市,\n".encode(),
    xlsx([["名称", "地址"], ["甲", "上海市", "浦东新区"], ["乙", "北京市", None, None]]),
])
def test_values_right_of_the_last_header_are_flagged_as_overflow(data: bytes) -> None:
    _table, rows = read(data)
    assert [(row.values, row.overflow) for row in rows] == [(["甲", "上海市"], True), (["乙", "北京市"], False)]


def test_an_unclosed_quote_is_refused_naming_its_row_instead_of_swallowing_the_file() -> None:
    error = refusal('名称,电话\n甲,1\n"乙,2\n丙,3\n'.encode())
    assert error.code == "not_a_table" and error.params == {"row": 3}


# --- XLSX cells ---


def test_xlsx_cells_become_the_text_the_steward_typed() -> None:
    data = xlsx([
        ["名称", "手机", "手机(浮点)", "USCC", "日期", "时间戳", "启用", "空", "比例"],
        ["甲医院", 13812345678, 13812345678.0, "91310000MA1FL0000X", datetime.date(2024, 3, 1),
         datetime.datetime(2024, 3, 1, 8, 30), True, None, 0.25],
        ["乙", 1e16, -0.0, "  000123  ", datetime.datetime(2024, 3, 2), None, False, None, 1 / 3],
    ])
    table, rows = read(data)
    assert table.format == "xlsx" and table.encoding == "xlsx"
    assert rows[0].values == ["甲医院", "13812345678", "13812345678", "91310000MA1FL0000X", "2024-03-01",
                              "2024-03-01 08:30:00", "TRUE", "", "0.25"]
    assert rows[1].values == ["乙", "10000000000000000", "0", "000123", "2024-03-02", "", "FALSE", "", repr(1 / 3)]
    assert [row.number for row in rows] == [2, 3]


def test_excel_style_numbers_shared_strings_and_serial_dates() -> None:
    sheet = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
             '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>1.3812345678E10</v></c>'
             '<c r="C3" s="1"><v>45352</v></c></row>')
    _table, rows = read(raw_xlsx(sheet, ["名称", "电话", "开业日期", "甲"], dimension="A1:C3"))
    assert [(row.number, row.values) for row in rows] == [(3, ["甲", "13812345678", "2024-03-01"])]


def test_a_wrong_dimension_does_not_truncate_the_sheet() -> None:
    sheet = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>v{n}</t></is></c></row>' for n in range(1, 6))
    _table, rows = read(raw_xlsx(sheet, dimension="A1:A2"))
    assert [row.values for row in rows] == [["v2"], ["v3"], ["v4"], ["v5"]]


def test_xlsx_formulas_are_reported_with_their_text() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["名称", "电话", "合计"])
    sheet.append(["甲", "=CONCAT(\"138\",\"1234\")", "=SUM(1,2)"])
    sheet["C3"] = ArrayFormula("C3:C3", "=SUM(B1:B2)")
    sheet["A3"] = "乙"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _table, rows = read(buffer.getvalue())
    assert rows[0].values == ["甲", '=CONCAT("138","1234")', "=SUM(1,2)"] and rows[0].formula_columns == {1, 2}
    assert rows[1].values[2] == "=SUM(B1:B2)" and rows[1].formula_columns == {2}


def test_xlsx_header_is_normalised_so_full_width_forms_match() -> None:
    table, _rows = read(xlsx([["  ＵＳＣＣ\u3000", "客户名称（必填）", "\ufeff电话", 2024]]))
    assert table.headers == ["USCC", "客户名称(必填)", "电话", "2024"]


@pytest.mark.parametrize("filename", ["customers.xls", "customers.txt", "customers.csv", ""])
def test_format_is_sniffed_from_content_not_the_name(filename: str) -> None:
    table, rows = read(xlsx([["名称"], ["甲"]]), filename=filename)
    assert table.format == "xlsx" and rows[0].values == ["甲"]


def test_old_xls_and_binary_files_are_not_tables() -> None:
    assert refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, filename="老文件.xls").code == "not_a_table"
    assert refusal(b"MZ\x90\x00" + b"\0" * 200).code == "not_a_table"
    assert refusal(b"PK\x03\x04 not really a zip").code == "not_a_table"


# --- limits ---


def test_too_large_is_refused_before_reading_it_all() -> None:
    assert refusal(b"a" * (20 * MB)).code == "too_large"

    class Upload(io.RawIOBase):
        """A 20 MB upload that counts what was read from it."""

        served = 0

        def readinto(self, buffer: Any) -> int:
            size = min(len(buffer), 20 * MB - self.served)
            buffer[:size] = b"a" * size
            self.served += size
            return size

    upload = Upload()
    assert refusal(upload).code == "too_large"
    assert upload.served <= 10 * MB + 1


@pytest.mark.parametrize("make", [
    lambda rows: ("名称\n" + "".join(f"客户{n}\n\n" for n in range(rows))).encode(),
    lambda rows: xlsx([["名称"], *([f"客户{n}"] for n in range(rows))]),
])
def test_too_many_rows_counts_data_rows_only(make: Any) -> None:
    assert len(read(make(5), max_rows=5)[1]) == 5
    assert refusal(make(6), max_rows=5).code == "too_many_rows"


@pytest.mark.parametrize("data", [b"", b"  \r\n ", codecs.BOM_UTF8, b"\n,,\n , \n", xlsx([]), xlsx([[None, " "]])])
def test_a_file_without_a_header_is_empty(data: bytes) -> None:
    assert refusal(data).code == "empty"


@pytest.mark.parametrize("data", [HEADER.encode(), xlsx([["客户名称", "统一社会信用代码", "电话"]])])
def test_a_header_only_file_has_no_rows(data: bytes) -> None:
    table, rows = read(data)
    assert table.headers == ["客户名称", "统一社会信用代码", "电话"] and rows == []


def test_duplicate_headers_are_named() -> None:
    error = refusal("名称,电话,名称 ,ｅｍａｉｌ,email\n".encode())
    assert error.code == "duplicate_headers" and error.items == ("名称", "email")


# --- hostile workbooks ---


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    buffer = io.BytesIO()
    zero_megabyte = bytes(MB)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(zero_megabyte)
    assert len(buffer.getvalue()) < MB
    assert refusal(buffer.getvalue()).code == "unsafe_archive"


def test_an_absurdly_compressed_part_is_refused_even_under_the_size_limit() -> None:
    data = raw_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c></row>')
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.png", bytes(5 * MB))
    assert refusal(buffer.getvalue()).code == "unsafe_archive"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs.xml", "C:\\x.xml", "xl/a\x01.xml"])
def test_suspicious_part_names_are_refused(name: str) -> None:
    buffer = io.BytesIO(xlsx([["名称"]]))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"x")
    assert refusal(buffer.getvalue()).code == "unsafe_archive"


def test_an_archive_with_thousands_of_parts_is_refused() -> None:
    buffer = io.BytesIO(xlsx([["名称"]]))
    with zipfile.ZipFile(buffer, "a") as archive:
        for n in range(1001):
            archive.writestr(f"xl/extra/{n}.xml", b"")
    assert refusal(buffer.getvalue()).code == "unsafe_archive"


def test_openpyxl_parses_through_defusedxml() -> None:
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")


@pytest.mark.parametrize("part", ["sharedStrings", "sheet"])
def test_billion_laughs_is_refused_by_defusedxml(part: str) -> None:
    sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
    error = refusal(raw_xlsx(sheet, ["名称"], doctype_in=part))
    assert error.code == "unsafe_archive"
    causes = []
    cause: BaseException | None = error
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__
    assert any(isinstance(cause, DefusedXmlException) for cause in causes)


def test_workbooks_are_refused_when_openpyxl_would_not_use_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    with pytest.raises(ImproperlyConfigured):
        read_table(xlsx([["名称"]]), **LIMITS)


# --- columns ---


COLUMNS = [
    Column("name", "客户名称", aliases=("名称", "Customer name"), required=True),
    Column("uscc", "统一社会信用代码", aliases=("USCC", "社会信用代码"), required=True),
    Column("phone", "联系电话", aliases=("电话", "手机")),
    Column("city", "城市"),
]


def test_headers_match_despite_markers_brackets_case_and_full_width() -> None:
    headers = ["客户名称*", "统一社会信用代码（USCC）", "ｐｈｏｎｅ", "电 话 (选填)", "备注", ""]
    mapping = match_columns(headers, COLUMNS)
    assert mapping.indexes == {"name": 0, "uscc": 1, "phone": 3}
    assert mapping.unknown_headers == ["ｐｈｏｎｅ", "备注"]


@pytest.mark.parametrize("header", ["customer NAME", "＊客户名称", "客户名称(必填)", "【必填】客户名称", "名称"])
def test_header_variants_find_their_column(header: str) -> None:
    assert match_columns([header, "USCC"], COLUMNS).indexes["name"] == 0


def test_an_explicit_mapping_overrides_matching() -> None:
    headers = ["单位", "信用代码", "电话", "手机号码"]
    mapping = match_columns(headers, COLUMNS, mapping={"单位": "name", "信用代码": "uscc", "手机号码": "phone",
                                                       "电话": None, "不在文件里": "city"})
    assert mapping.indexes == {"name": 0, "uscc": 1, "phone": 3}
    assert mapping.unknown_headers == []


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(TabularError) as caught:
        match_columns(["名称", "电话"], COLUMNS)
    assert caught.value.code == "missing_columns" and caught.value.items == ("统一社会信用代码",)
    with translation.override("en"):
        assert str(caught.value) == "Required columns are missing: 统一社会信用代码."


def test_two_headers_for_one_column_and_unknown_mapping_keys_are_refused() -> None:
    with pytest.raises(TabularError) as caught:
        match_columns(["名称", "客户名称*", "USCC"], COLUMNS)
    assert caught.value.code == "duplicate_headers" and caught.value.items == ("名称", "客户名称*")
    with pytest.raises(TabularError) as caught:
        match_columns(["名称", "USCC"], COLUMNS, mapping={"名称": "owner"})
    assert caught.value.code == "invalid_mapping"


def test_mapping_reads_values_and_formula_keys_of_a_row() -> None:
    _table, rows = read("客户名称*,USCC,电话\n甲,=1+1,138\n".encode())
    mapping = match_columns(_table.headers, COLUMNS)
    assert mapping.values(rows[0]) == {"name": "甲", "uscc": "=1+1", "phone": "138"}
    assert mapping.value(rows[0], "city") == "" and mapping.formula_keys(rows[0]) == ["uscc"]


# --- writing ---


def test_written_workbook_reads_back_as_text_with_formulas_neutralised() -> None:
    data = write_xlsx(["客户名称*", "电话", "错误"],
                      [["甲医院", 13812345678, "缺少USCC"], ["=HYPERLINK(\"http://x\")", "+86 138", "@SUM(A1)"],
                       [datetime.date(2024, 3, 1), None, "bad\x00\x0bchar"]],
                      sheet_title="被拒绝的行", notes=["带*的列必填", "=不是公式"])
    table, rows = read(data, filename="rejected.xlsx")
    assert table.headers == ["客户名称*", "电话", "错误"]
    assert [row.values for row in rows] == [["甲医院", "13812345678", "缺少USCC"],
                                            ["'=HYPERLINK(\"http://x\")", "'+86 138", "'@SUM(A1)"],
                                            ["2024-03-01", "", "badchar"]]
    assert all(not row.formula_columns for row in rows)

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["被拒绝的行", "Notes"]
    cells = [cell for row in workbook.worksheets[0].iter_rows() for cell in row]
    assert all(cell.number_format == "@" and (cell.value is None or cell.data_type == "s") for cell in cells)
    assert workbook.worksheets[0].column_dimensions["B"].number_format == "@"
    assert [row[0].value for row in workbook["Notes"].iter_rows()] == ["带*的列必填", "'=不是公式"]
