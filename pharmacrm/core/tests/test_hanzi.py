"""Chinese search forms: one normal form, pinyin with polyphone variants, index and query terms."""

from __future__ import annotations

import pytest
from pypinyin import Style, lazy_pinyin

from pharmacrm.core.hanzi import (
    ASCII_TERM_MAX,
    SEARCH_KEY_MAX,
    SEPARATOR,
    TEXT_TERM_MAX,
    index_terms,
    normalize,
    query_term,
    readings,
    search_key,
)

XIEHE = "北京协和医院"
CHANGSHOU = "重庆市长寿区人民医院"


def finds(query: str, *texts: str, identifiers: tuple[str, ...] = ()) -> bool:
    """What the index does: the query's term begins one of the row's terms."""
    found = query_term(query)
    assert found is not None
    return any(term.startswith(found.term) for term in index_terms(*texts, identifiers=identifiers))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("北京協和醫院 （東院）", "北京协和医院东院"),
        ("ＡＢＣ－１２３", "abc123"),
        ("  Peking Union · 协和 ", "pekingunion协和"),
        ("第三〇二医院", "第三〇二医院"),
        ("！？，。、；：“”‘’|%_", ""),
    ],
)
def test_normalize_folds_width_case_script_and_drops_punctuation(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_readings_start_with_pypinyin_and_its_initials() -> None:
    for name in [XIEHE, CHANGSHOU, "上海市第六人民医院", "复旦大学附属中山医院", "3M中国", "解放军第三〇二医院"]:
        text = normalize(name)
        first = readings(text)[0]
        assert first.full == "".join(lazy_pinyin(text))
        assert first.initials == "".join(lazy_pinyin(text, style=Style.FIRST_LETTER))


def test_polyphones_give_both_readings_within_the_cap() -> None:
    variants = readings(normalize(CHANGSHOU))
    assert [variant.full for variant in variants] == [
        "chongqingshizhangshouqurenminyiyuan",
        "zhongqingshizhangshouqurenminyiyuan",
        "chongqingshichangshouqurenminyiyuan",
        "zhongqingshichangshouqurenminyiyuan",
    ]
    many = readings(normalize("长乐朝阳曾都重庆六安蚌埠厦门"))
    assert len(many) == 4


@pytest.mark.parametrize("query", ["bjxh", "xh", "beijingxiehe", "xiehe", "协和", "協和", "北京協和醫院", "XieHe", "xhyy"])
def test_every_way_of_typing_xiehe_finds_it(query: str) -> None:
    assert finds(query, XIEHE)


@pytest.mark.parametrize("query", ["长寿", "changshou", "cs", "chongqing", "cqs", "长寿区人民医院"])
def test_place_name_polyphones_match_either_reading(query: str) -> None:
    assert finds(query, CHANGSHOU)


@pytest.mark.parametrize("query", ["华西", "iehe", "xiehua", "bjxy", "协和东院"])
def test_unrelated_or_mid_syllable_queries_find_nothing(query: str) -> None:
    assert not finds(query, XIEHE)


def test_short_name_and_alias_are_searchable() -> None:
    assert finds("市六", "上海市第六人民医院", "市六医院")
    assert finds("slyy", "上海市第六人民医院", "市六医院")
    assert finds("第六人民", "上海交通大学附属第六人民医院", "市六医院", "上海市第六人民医院")


def test_identifiers_are_matched_from_their_start() -> None:
    uscc, phone = "12100000400000624D", "010-6915 6114"
    assert finds("121000", XIEHE, identifiers=(uscc, phone))
    assert finds("12100000400000624d", XIEHE, identifiers=(uscc, phone))
    assert finds("01069156114", XIEHE, identifiers=(uscc, phone))
    assert finds("010-6915", XIEHE, identifiers=(uscc, phone))
    assert not finds("6915", XIEHE, identifiers=(uscc, phone))


def test_ascii_inside_a_name_is_found_by_ascii_queries_longer_than_a_text_term() -> None:
    assert finds("abcdefghij", "abcdefghij医院")
    assert finds("3m", "3M中国")
    assert finds("m中国", "3M中国")


@pytest.mark.parametrize("query", ["", "   ", "…", "“”", "!!!", "%_|", "\t\n"])
def test_query_without_anything_searchable_is_none(query: str) -> None:
    assert query_term(query) is None


def test_long_queries_are_clipped_like_index_terms_and_flagged_inexact() -> None:
    long_chinese = query_term("北京协和医院东院国际医疗部")
    assert long_chinese is not None
    assert long_chinese.term == "北京协和医院东院"
    assert len(long_chinese.term) == TEXT_TERM_MAX
    assert not long_chinese.exact
    assert finds("北京协和医院东院国际医疗部", "北京协和医院东院国际医疗部")

    long_pinyin = query_term("beijingxieheyiyuandongyuanguojiyiliaobu")
    assert long_pinyin is not None
    assert len(long_pinyin.term) == ASCII_TERM_MAX
    assert not long_pinyin.exact
    assert finds("beijingxieheyiyuandongyuanguojiyiliaobu", "北京协和医院东院国际医疗部")

    short = query_term("協和")
    assert short is not None
    assert (short.term, short.text, short.exact) == ("协和", "协和", True)


def test_terms_are_clipped_unique_and_few() -> None:
    terms = index_terms("复旦大学附属中山医院", "中山医院", identifiers=["12100000425006117Y", "021-64041990"])
    assert len(terms) == len(set(terms)) <= 40
    assert all(len(term) <= (ASCII_TERM_MAX if term.isascii() else TEXT_TERM_MAX) for term in terms)
    assert not any(other != term and other.startswith(term) for term in terms for other in terms)
    assert len(index_terms(CHANGSHOU, "长寿区人民医院")) <= 60


def test_search_key_holds_every_form_once_and_stays_bounded() -> None:
    key = search_key("北京協和醫院", "协和", identifiers=["12100000400000624D", "010-69156114"])
    forms = key.split(SEPARATOR)
    assert forms[:4] == ["北京协和医院", "协和", "12100000400000624d", "01069156114"]
    assert {"bjxhyy", "xh", "beijingxieheyiyuan", "xiehe"} <= set(forms)
    assert len(forms) == len(set(forms))
    assert "xh" in key and "jingxie" in key

    huge = search_key(*(f"第{number}人民医院分院" for number in range(200)))
    assert len(huge) <= SEARCH_KEY_MAX
    assert not huge.endswith(SEPARATOR)
