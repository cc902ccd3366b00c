"""manage.py compile_translations: .po → .mo with Babel, so no GNU gettext is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the project's translation catalogues (.po) into .mo files."

    def handle(self, *args: Any, **options: Any) -> None:
        compiled = 0
        for locale_path in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_path).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                with po_path.open("rb") as source:
                    catalog = read_po(source)
                with mo_path.open("wb") as target:
                    write_mo(target, catalog, use_fuzzy=False)
                compiled += 1
        if options["verbosity"] > 1 or (compiled and options["verbosity"]):
            self.stdout.write(f"translations: {compiled} catalogue(s) compiled")
