"""Two rules every page keeps, checked over every template and the catalogue:

* no inline style (a ``style`` attribute or a ``<style>`` block): the Content-Security-Policy (``style-src 'self'``)
  blocks them, so the page would silently lose the look it asked for; classes in ``core/static/core/app.css`` do it;
* users read the policy's own words, never our names for the documents the product is built from ("seed 003 二.3").
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "pharmacrm"
INLINE_STYLE = re.compile(r"""<style[\s>]|\sstyle\s*=\s*["']""", re.I)
SEED_REFERENCE = re.compile(r"\bseeds?\s*0\d\d|种子\s*0\d\d|制度\s*0\d\d", re.I)


def test_no_template_has_an_inline_style() -> None:
    offending = [f"{path.relative_to(ROOT)}:{number}" for path in sorted(ROOT.rglob("templates/**/*.html"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if INLINE_STYLE.search(line)]
    assert offending == []


def test_no_user_facing_text_names_a_seed_document() -> None:
    with (ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").open("rb") as source:
        catalogue = read_po(source)
    texts = [text for message in catalogue if message.id
             for text in ([message.id] if isinstance(message.id, str) else list(message.id))
             + ([message.string] if isinstance(message.string, str) else list(message.string))]
    assert [text for text in texts if SEED_REFERENCE.search(text)] == []
    templates = [f"{path.relative_to(ROOT)}:{number}" for path in sorted(ROOT.rglob("templates/**/*.html"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if SEED_REFERENCE.search(re.sub(r"{#.*?#}", "", line))]
    assert templates == []


def test_the_checks_see_what_they_look_for() -> None:
    assert INLINE_STYLE.search('<th style="width:9rem">') and INLINE_STYLE.search("<style>p{}</style>")
    assert not INLINE_STYLE.search('<th class="col-w-9">') and not INLINE_STYLE.search("{% translate 'style' %}")
    assert SEED_REFERENCE.search("(seed 000 五.3)") and SEED_REFERENCE.search("（种子001 三.1）")
    assert not SEED_REFERENCE.search("seed_demo --if-empty")
