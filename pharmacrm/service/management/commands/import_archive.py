"""manage.py import_archive case.json: check a case archive (its seal, every audit entry's hash) and keep it
read-only in this instance (service.CaseArchive); exit 1 naming what is wrong otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pharmacrm.service import archive


class Command(BaseCommand):
    help = "Import a case archive written by export_record; refused when it does not verify."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = json.loads(Path(options["path"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read {options['path']}: {error}") from error
        try:
            stored = archive.import_archive(document)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages), returncode=1) from error
        self.stdout.write(f"archive #{stored.pk}: {stored.case_number}, "
                          f"{len(stored.document['audit_trail'])} audit entries verified")
