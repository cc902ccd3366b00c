"""manage.py verify_audit_chain: exit 0 when the audit chain is intact, 1 naming the first bad entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from pharmacrm.core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail; names the first altered, removed or inserted entry."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"audit chain broken at entry #{report.first_bad_id} after {report.checked} good entries: "
                f"{report.problem}", returncode=1,
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} entries verified"))
