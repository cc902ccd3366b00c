"""manage.py export_record service.case <id> --out case.json [--csv audit.csv]: a case's archive (the record, its
notes, clocks, audit trail and signature manifests, sealed by a hash; see service.archive).

``--from-archive`` writes an imported archive (``CaseArchive`` id) back out as it was imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pharmacrm.service import archive
from pharmacrm.service.models import Case, CaseArchive

SUPPORTED = ("service.case",)


class Command(BaseCommand):
    help = "Export a GxP record (service.case) with its audit trail and signatures as JSON (+ the audit trail as CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="service.case")
        parser.add_argument("pk", type=int)
        parser.add_argument("--out", required=True, help="the JSON file to write")
        parser.add_argument("--csv", help="also write the audit trail as CSV to this file")
        parser.add_argument("--from-archive", action="store_true",
                            help="pk is an imported archive (service.CaseArchive), not a live case")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["model"].lower() not in SUPPORTED:
            raise CommandError(f"only {', '.join(SUPPORTED)} can be exported")
        if options["from_archive"]:
            stored = CaseArchive.objects.filter(pk=options["pk"]).first()
            if stored is None:
                raise CommandError(f"no case archive #{options['pk']}")
            document = stored.document
        else:
            case = Case._base_manager.filter(pk=options["pk"]).first()
            if case is None:
                raise CommandError(f"no case #{options['pk']}")
            document = archive.export_case(case)
        Path(options["out"]).write_text(archive.dumps(document), encoding="utf-8")
        if options["csv"]:
            Path(options["csv"]).write_text(archive.audit_csv(document), encoding="utf-8-sig")
        self.stdout.write(f"{document['record']['number']}: {len(document['audit_trail'])} audit entries, "
                          f"{len(document['signatures'])} signatures → {options['out']}")
