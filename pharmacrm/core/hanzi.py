"""Chinese text for search: one normal form, pinyin readings, and the terms an index stores.

A user looking for 北京协和医院 may type 协和, 協和, xiehe, beijingxiehe, bjxh or xh.
Everything here maps stored names and typed queries into one alphabet — lower-case
ASCII letters and digits plus simplified CJK ideographs — so matching becomes plain
string comparison:

* ``normalize`` gives that normal form;
* ``readings`` gives full pinyin and initials, with a few variants where pypinyin's
  single guess at a place-name polyphone is unreliable (重庆市长寿区 is chang shou);
* ``search_key`` packs every form into one string for ``LIKE '%q%'`` over a small set;
* ``index_terms`` and ``query_term`` turn substring search into prefix search over
  suffixes, which a full-text index answers quickly (``pharmacrm.core.search``).

Term lengths follow one rule, ``clip``: a string holding any non-ASCII character
(an ideograph) is cut to ``TEXT_TERM_MAX`` characters, a pure ASCII one (pinyin,
initials, identifiers) to ``ASCII_TERM_MAX``. Index terms and query terms are clipped
by the same rule, so a long query still finds its clipped terms; ``QueryTerm.exact``
then tells the caller to confirm the candidates with ``search_key``.

Pure functions, no Django.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.seg.mmseg import seg as phrase_segmenter

#: characters of a term or query that holds an ideograph: long enough for any name fragment people type
TEXT_TERM_MAX = 8
#: letters of a pure ASCII term or query: 4-6 syllables of pinyin, a whole USCC (18) or phone number
ASCII_TERM_MAX = 24
#: variants of one text's pinyin when it holds polyphones: 2 polyphones get every combination
MAX_READINGS = 4
#: characters of a search key; names, short names, aliases and identifiers fit with room to spare
SEARCH_KEY_MAX = 1000
#: joins the forms of a search key; normalize() never produces it, so no query can span two forms
SEPARATOR = "|"

# CJK ideographs: 〇, Extension A, the basic block, compatibility ideographs NFKC leaves alone,
# and the supplementary ideographic planes (Extensions B–I).
_IDEOGRAPHS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
_NOT_SEARCHABLE = re.compile(f"[^0-9a-z{_IDEOGRAPHS}]+")
_ASCII_OR_OTHER_RUN = re.compile(r"[0-9a-z]+|[^0-9a-z]+")

# Readings that occur in place and institution names where pypinyin may pick the other one
# (市长寿 reads as 市长 "mayor", 曾都 as ceng dou, 朝阳医院 as zhao). Each listed character
# adds variants, so characters common in names whose other reading never occurs in one are
# left out: 大 (dai: 大夫), 区 (ou: a surname), 会 (kuai: 会计), 盛 (cheng: 盛饭).
_POLYPHONES: dict[str, tuple[str, ...]] = {
    "长": ("chang", "zhang"),  # 长寿, 长治, 长葛 / 长子县
    "重": ("chong", "zhong"),  # 重庆
    "行": ("xing", "hang"),  # 银行, 行唐
    "乐": ("le", "yue", "lao"),  # 乐山 / 乐清 / 乐亭
    "单": ("shan", "dan"),  # 单县
    "曾": ("zeng", "ceng"),  # 曾都
    "解": ("jie", "xie"),  # 解放军 / 解州
    "厦": ("xia", "sha"),  # 厦门
    "朝": ("chao", "zhao"),  # 朝阳
    "六": ("liu", "lu"),  # 六合 / 六安
    "蚌": ("bang", "beng"),  # 蚌埠
    "都": ("du", "dou"),  # 曾都, 盐都, 都匀
    "藏": ("zang", "cang"),  # 西藏
    "莘": ("xin", "shen"),  # 莘县, 莘庄
    "洞": ("dong", "tong"),  # 洪洞
    "番": ("fan", "pan"),  # 番禺
    "尉": ("wei", "yu"),  # 尉氏 / 尉犁
    "蔚": ("wei", "yu"),  # 蔚县
    "铅": ("qian", "yan"),  # 铅山
    "枞": ("cong", "zong"),  # 枞阳
    "堡": ("bao", "bu", "pu"),  # 吴堡, 十里堡
    "柏": ("bai", "bo"),  # 柏乡
    "涌": ("yong", "chong"),  # 东涌
    "浒": ("hu", "xu"),  # 浒墅关
    "泌": ("mi", "bi"),  # 泌阳
    "仇": ("qiu", "chou"),
    "查": ("cha", "zha"),
    "阿": ("a", "e"),  # 东阿
    "牟": ("mu", "mou"),  # 牟平
}


@functools.cache
def _traditional_to_simplified() -> opencc.OpenCC:
    """One converter per process, built on first use: loading OpenCC's dictionaries costs milliseconds."""
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """The searchable form: half-width, case-folded, simplified, only ideographs, ASCII letters and digits.

    ``normalize("北京協和醫院 （東院）") == "北京协和医院东院"``. Whitespace and punctuation go
    so that "协和 医院", "协和医院" and "协和·医院" are the same name; ``SEPARATOR`` and LIKE's
    wildcards are punctuation too, so a normalized query is safe in ``LIKE '%q%'``.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        folded = _traditional_to_simplified().convert(folded)
    return _NOT_SEARCHABLE.sub("", folded)


@dataclass(frozen=True)
class Reading:
    """One way to read a normalized text aloud.

    ``syllables`` has one entry per ideograph; a run of ASCII letters and digits is one
    entry kept as it is (pypinyin does the same), and so is an ideograph without pinyin.
    """

    syllables: tuple[str, ...]
    initials: str

    @property
    def full(self) -> str:
        """Full pinyin without separators: ``beijingxieheyiyuan``."""
        return "".join(self.syllables)


@functools.lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    """pypinyin's reading of one dictionary word, cached: names repeat 人民, 医院, 上海市 endlessly."""
    syllables = lazy_pinyin(word, style=Style.NORMAL)
    if len(syllables) == len(word) and all(syllables):
        return tuple(syllables)
    # A character without pinyin came back merged with its neighbours: read one by one,
    # keeping such a character as itself.
    return tuple(next(iter(lazy_pinyin(char, style=Style.NORMAL)), "") or char for char in word)


def _units(text: str) -> list[tuple[str, str]]:
    """``(source, syllable)`` pairs: one per ideograph, one per ASCII run (read as itself).

    Splitting into the same dictionary words pypinyin's ``lazy_pinyin`` uses keeps its
    phrase-aware choices (重庆 chong) while letting each word's reading be cached.
    """
    units: list[tuple[str, str]] = []
    for run in _ASCII_OR_OTHER_RUN.findall(text):
        if run.isascii():
            units.append((run, run))
            continue
        for word in phrase_segmenter.cut(run):
            units.extend(zip(word, _word_syllables(word), strict=True))
    return units


def _flips(units: list[tuple[str, str]]) -> Iterator[dict[int, str]]:
    """Replacement syllables by position, fewest replacements first, starting with none."""
    positions = [
        (index, [other for other in _POLYPHONES[source] if other != syllable])
        for index, (source, syllable) in enumerate(units)
        if source in _POLYPHONES
    ]
    for count in range(len(positions) + 1):
        for chosen in itertools.combinations(positions, count):
            indexes = [index for index, _ in chosen]
            for alternatives in itertools.product(*(others for _, others in chosen)):
                yield dict(zip(indexes, alternatives, strict=True))


@functools.lru_cache(maxsize=4096)
def readings(text: str) -> tuple[Reading, ...]:
    """pypinyin's reading of a normalized text first, then up to ``MAX_READINGS - 1`` variants.

    Variants replace the reading of listed polyphones, one at a time before two at a time,
    so with one or two polyphones every combination is there and either reading of
    重庆市长寿区 (chong…chang) matches. Initials equal pypinyin's ``Style.FIRST_LETTER``
    (an ASCII run stays whole there too). Cached briefly, so that a row's ``search_key``
    and ``index_terms`` read its names once.
    """
    units = _units(text)
    syllables = [syllable for _, syllable in units]
    initials = [syllable if source.isascii() else syllable[0] for source, syllable in units]
    result = [Reading(tuple(syllables), "".join(initials))]
    for flip in itertools.islice(_flips(units), 1, MAX_READINGS):
        variant, variant_initials = syllables.copy(), initials.copy()
        for index, syllable in flip.items():
            variant[index], variant_initials[index] = syllable, syllable[0]
        result.append(Reading(tuple(variant), "".join(variant_initials)))
    return tuple(result)


def clip(term: str) -> str:
    """Cut a term or query to its maximum: ``TEXT_TERM_MAX`` if it holds an ideograph, else ``ASCII_TERM_MAX``."""
    return term[:ASCII_TERM_MAX] if term.isascii() else term[:TEXT_TERM_MAX]


def _forms(texts: Iterable[str]) -> tuple[list[str], list[Reading]]:
    normalized = [form for form in map(normalize, texts) if form]
    return normalized, [reading for form in normalized for reading in readings(form)]


def search_key(*texts: str, identifiers: Iterable[str] = ()) -> str:
    """Every searchable form of a row in one string, for ``search_key LIKE '%q%'`` with q normalized.

    Normalized texts, then identifiers (USCC, phone: normalized, no pinyin), then
    initials, then full pinyin, each once, joined by ``SEPARATOR``. Past
    ``SEARCH_KEY_MAX`` whole forms are dropped from the end, pinyin first.
    """
    normalized, variants = _forms(texts)
    forms = [*normalized, *filter(None, map(normalize, identifiers))]
    forms += [reading.initials for reading in variants] + [reading.full for reading in variants]
    key = ""
    for form in dict.fromkeys(forms):
        candidate = f"{key}{SEPARATOR}{form}" if key else form
        if len(candidate) > SEARCH_KEY_MAX:
            break
        key = candidate
    return key


def _without_prefixes(terms: set[str]) -> list[str]:
    """Drop terms that begin another term: a prefix query finding them finds the longer one too."""
    ordered = sorted(terms)
    return [term for term, following in zip(ordered, [*ordered[1:], ""], strict=True) if not following.startswith(term)]


def _suffixes(form: str, starts: Iterable[int]) -> list[str]:
    """``clip``-ped suffixes of a form; pinyin is all ASCII, so its suffixes are cut without checking each."""
    if form.isascii():
        return [form[start : start + ASCII_TERM_MAX] for start in starts]
    return [clip(form[start:]) for start in starts]


def index_terms(*texts: str, identifiers: Iterable[str] = ()) -> list[str]:
    """The terms a full-text index stores for one row, so that a query prefix of a term is a hit.

    Substring search becomes prefix search over suffixes, each ``clip``-ped:

    * every suffix of each normalized text (协和 begins the suffix 协和医院);
    * every suffix of each reading's initials (xh begins xhyy);
    * every suffix of each reading's full pinyin that starts on a syllable (xiehe begins
      xieheyiyuan; "iehe" deliberately finds nothing);
    * each normalized identifier whole (a USCC or phone number is typed from its start).

    Terms that begin another term are redundant and dropped, so a short name that is
    part of the full name adds nothing. Sorted, for stable output.
    """
    normalized, variants = _forms(texts)
    terms: set[str] = set()
    for text in normalized:
        terms.update(_suffixes(text, range(len(text))))
    for reading in variants:
        terms.update(_suffixes(reading.initials, range(len(reading.initials))))
        starts = itertools.accumulate((len(syllable) for syllable in reading.syllables[:-1]), initial=0)
        terms.update(_suffixes(reading.full, starts))
    terms.update(clip(identifier) for identifier in map(normalize, identifiers) if identifier)
    return _without_prefixes(terms)


@dataclass(frozen=True)
class QueryTerm:
    """What to look up for one typed query.

    ``term`` is the prefix to match against index terms. ``text`` is the whole normalized
    query. ``exact`` is False when the query was longer than a term may be: the index then
    returns candidates that callers narrow with ``search_key LIKE '%text%'``.
    """

    term: str
    text: str

    @property
    def exact(self) -> bool:
        return self.term == self.text


def query_term(query: str) -> QueryTerm | None:
    """The one index term to prefix-match for what a user typed, or None when nothing searchable is left.

    Either script works (協和 = 协和), and so do full pinyin, initials, USCC and phone digits.
    A query mixing pinyin and ideographs ("bj协和") is matched only as literal text, so it
    finds nothing unless the name itself contains it.
    """
    text = normalize(query)
    return QueryTerm(term=clip(text), text=text) if text else None
