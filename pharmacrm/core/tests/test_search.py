"""Full-text index side table: prefix search over hanzi terms, the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models.expressions import RawSQL

from pharmacrm.core import hanzi
from pharmacrm.core.search import FullTextIndex, _fts5_prefix_query, _tsquery_prefix, migration_operations

pytestmark = pytest.mark.django_db(transaction=False)

TABLE = "test_core_search_fts"
XIEHE, HUAXI, CHANGSHOU, SHILIU, BEIDA = 1, 2, 3, 4, 5
ROWS = {
    XIEHE: (("北京协和医院", "协和"), ("12100000400000624D", "010-69156114")),
    HUAXI: (("四川大学华西医院", "华西"), ("12510000450717779X", "028-85422114")),
    CHANGSHOU: (("重庆市长寿区人民医院",), ()),
    SHILIU: (("上海市第六人民医院", "市六医院"), ()),
    BEIDA: (("北京大学第一医院", "北大医院"), ()),
}


def terms_of(row_id: int) -> list[str]:
    texts, identifiers = ROWS[row_id]
    return hanzi.index_terms(*texts, identifiers=identifiers)


def ids(index: FullTextIndex, query: str) -> set[int]:
    """What a search box does: the typed query's term, looked up in the index."""
    found = hanzi.query_term(query)
    return set() if found is None else raw_ids(index, found.term)


def raw_ids(index: FullTextIndex, term: str) -> set[int]:
    sql, params = index.matching_ids(term)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row_id for (row_id,) in cursor.fetchall()}


def create(index: FullTextIndex) -> None:
    with connection.cursor() as cursor:
        for statement in index.create_sql(connection.vendor):
            cursor.execute(statement)


@pytest.fixture
def index() -> Iterator[FullTextIndex]:
    """A fresh index table holding ROWS; the test's transaction takes it away again."""
    index = FullTextIndex(TABLE)
    create(index)
    index.replace((row_id, terms_of(row_id)) for row_id in ROWS)
    yield index
    with connection.cursor() as cursor:
        for statement in index.drop_sql(connection.vendor):
            cursor.execute(statement)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bjxh", {XIEHE}),
        ("xh", {XIEHE, HUAXI}),  # 协和 and 华西 (hua xi) alike
        ("协和", {XIEHE}),
        ("協和", {XIEHE}),
        ("xiehe", {XIEHE}),
        ("beijingxiehe", {XIEHE}),
        ("华西", {HUAXI}),
        ("長壽", {CHANGSHOU}),
        ("changshou", {CHANGSHOU}),
        ("zhangshou", {CHANGSHOU}),
        ("北京", {XIEHE, BEIDA}),
        ("市六", {SHILIU}),
        ("1210000040", {XIEHE}),
        ("12", {XIEHE, HUAXI}),
        ("010-6915 6114", {XIEHE}),
        ("02885422114", {HUAXI}),
        ("人民医院", {CHANGSHOU, SHILIU}),
    ],
)
def test_queries_find_the_right_rows(index: FullTextIndex, query: str, expected: set[int]) -> None:
    assert ids(index, query) == expected


@pytest.mark.parametrize("query", ["中山", "zhongshan", "bjxy", "iehe", "9111", "6915", "协和华西", "上海协和"])
def test_unrelated_queries_find_nothing(index: FullTextIndex, query: str) -> None:
    assert ids(index, query) == set()


def test_callers_filter_a_queryset_with_the_subquery(index: FullTextIndex) -> None:
    xiehe = Group.objects.create(name="北京协和医院")
    Group.objects.create(name="四川大学华西医院")
    index.rebuild([(xiehe.pk, hanzi.index_terms(xiehe.name))])  # ROWS' ids are other groups' here
    assert list(Group.objects.filter(id__in=RawSQL(*index.matching_ids("xh")))) == [xiehe]


def test_replace_reindexes_a_row(index: FullTextIndex) -> None:
    index.replace([(XIEHE, hanzi.index_terms("中国医学科学院肿瘤医院"))])
    assert ids(index, "协和") == set()
    assert ids(index, "bjxh") == set()
    assert ids(index, "肿瘤") == {XIEHE}
    assert ids(index, "zhongliu") == {XIEHE}
    index.replace([(XIEHE, [])])
    assert ids(index, "肿瘤") == set()


def test_delete_removes_rows_and_ignores_unknown_ids(index: FullTextIndex) -> None:
    index.delete([XIEHE, 999])
    assert ids(index, "北京") == {BEIDA}
    assert ids(index, "xh") == {HUAXI}


def test_rebuild_replaces_everything(index: FullTextIndex) -> None:
    index.rebuild((row_id, terms_of(row_id)) for row_id in (HUAXI, SHILIU))
    assert ids(index, "xh") == {HUAXI}
    assert ids(index, "人民医院") == {SHILIU}
    assert ids(index, "北京") == set()


def test_bulk_replace_and_delete_cross_batches(index: FullTextIndex) -> None:
    index.replace((row_id, hanzi.index_terms(f"第{row_id}医院")) for row_id in range(100, 4600))
    assert ids(index, "第4599医院") == {4599}
    assert set(range(100, 4600)) <= raw_ids(index, "di")
    index.delete(iter(range(100, 4599)))
    assert raw_ids(index, "di") == {4599, SHILIU, BEIDA}  # 第六, 第一


@pytest.mark.parametrize(
    "term",
    ['"', "'", "*", ":", "&", "\\", 'x"h', "x'h", "x*", "x:*", "x & y", "x\\", "协'和", '"协和"', "", " ", "x OR y", "!x"],
)
def test_hostile_terms_neither_fail_nor_match_everything(index: FullTextIndex, term: str) -> None:
    assert raw_ids(index, term) == set()
    assert ids(index, term) != set(ROWS)


def test_case_is_folded_on_both_engines(index: FullTextIndex) -> None:
    index.replace([(XIEHE, ["BJXH", "Peking"])])
    assert raw_ids(index, "bjxh") == raw_ids(index, "BJX") == {XIEHE}
    assert raw_ids(index, "PEK") == {XIEHE}


def test_terms_that_would_split_into_several_tokens_are_refused(index: FullTextIndex) -> None:
    with pytest.raises(ValueError, match="letters and digits"):
        index.replace([(XIEHE, ["协和 医院"])])
    with pytest.raises(ValueError, match="letters and digits"):
        index.replace([(XIEHE, ["x-h"])])


def test_query_literals_are_escaped() -> None:
    assert _fts5_prefix_query('a"b') == '"a""b"*'
    assert _tsquery_prefix("a'b\\c") == "'a''b\\\\c':*"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 tokenizer")
def test_fts5_keeps_each_term_one_token(index: FullTextIndex) -> None:
    terms = ["北京协和医院", "3m中国", "第三〇二", "BJXH", "\U0002b820\U00030000"]  # the last two: Extensions E and G
    index.replace([(XIEHE, terms)])
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIRTUAL TABLE temp.test_vocab USING fts5vocab(main, {TABLE}, 'row')")
        cursor.execute("SELECT term FROM temp.test_vocab")
        vocabulary = {term for (term,) in cursor.fetchall()}
        cursor.execute("DROP TABLE temp.test_vocab")
    assert {term.lower() for term in terms} <= vocabulary
    assert not {"北", "协", "协和", "3m", "中国"} & vocabulary
    assert raw_ids(index, "协和") == set()  # inside a token, not at the start of one


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tsvector storage")
def test_tsvector_keeps_each_term_one_lexeme(index: FullTextIndex) -> None:
    index.replace([(XIEHE, ["北京协和医院", "3m中国", "BJXH"])])
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tsvector_to_array(terms) FROM "{TABLE}" WHERE id = %s', [XIEHE])
        (lexemes,) = cursor.fetchone()
        cursor.execute("SELECT %s::tsquery::text", [_tsquery_prefix("a'b\\c")])
        (literal,) = cursor.fetchone()
    assert sorted(lexemes) == ["3m中国", "bjxh", "北京协和医院"]
    assert literal == "'a''b\\\\c':*"


def test_migration_operation_creates_and_drops_the_table() -> None:
    index = FullTextIndex("test_core_search_migrated")
    operation = migration_operations(index)
    with connection.cursor() as cursor:
        editor = SimpleNamespace(connection=connection, execute=cursor.execute)
        operation.code(None, editor)
        index.replace([(7, ["xiehe"])])
        assert raw_ids(index, "xie") == {7}
        assert operation.reverse_code is not None
        operation.reverse_code(None, editor)
        assert index.table not in connection.introspection.table_names(cursor)


def test_table_names_are_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="table name"):
        FullTextIndex('x"; DROP TABLE users; --')
