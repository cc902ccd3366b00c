"""Chinese is complete: every string marked for translation has a zh-Hans translation.

The extraction here is deliberately simple (string literals in gettext calls and
translate tags), so it needs no GNU gettext; `makemessages` remains the tool that
writes the catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "pharmacrm"
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

PY_CALL = re.compile(
    r"""\b(?:_|_l|gettext|gettext_lazy|pgettext|ngettext)\(\s*"""
    r"""(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*[,)]"""
)
TEMPLATE_TAG = re.compile(r"""{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<text>.*?)(?P=q)""")
BLOCK = re.compile(r"""{%\s*blocktranslate(?P<args>[^%]*)%}(?P<text>.*?){%\s*endblocktranslate\s*%}""", re.S)
VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")


def marked_strings() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for match in PY_CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group("text").encode().decode("unicode_escape").encode("latin-1").decode("utf-8"))
    for path in ROOT.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        found.update(match.group("text") for match in TEMPLATE_TAG.finditer(text))
        for match in BLOCK.finditer(text):
            if "trimmed" in match.group("args"):
                continue
            singular, _plural, plural = match.group("text").partition("{% plural %}")
            # a plural message is catalogued under its singular form
            found.add(VARIABLE.sub(r"%(\1)s", singular if plural else match.group("text")))
    return {item for item in found if item.strip()}


def catalogue() -> Any:
    with CATALOGUE.open("rb") as source:
        return read_po(source)


def test_catalogue_has_no_empty_or_fuzzy_entries() -> None:
    untranslated = [m.id for m in catalogue() if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_every_marked_string_is_translated() -> None:
    """One parse of the catalogue, every string checked, every missing one named."""
    translations = catalogue()
    missing = sorted(text for text in marked_strings() if not ((message := translations.get(text)) and message.string))
    assert missing == [], f"{len(missing)} strings have no zh-Hans translation"


def test_the_extraction_finds_each_kind_of_marking() -> None:
    """The check above cannot pass by finding nothing: Python calls, template tags and blocks are all read."""
    found = marked_strings()
    assert len(found) > 2000
    assert {"Login",  # _() in Python
            "Purchases in 12 months",  # {% translate %}
            "%(rows)s rows waiting",  # {% blocktranslate %} with a variable
            "in %(months)s month",  # a plural block, catalogued under its singular
            } <= found
