"""Background jobs of the shared mechanisms. Periodic jobs are declared here, beside their task.

Tasks take ids, call one service and are safe to run twice.
"""

from __future__ import annotations

import socket

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_startup

from pharmacrm.core.models import WorkerHeartbeat
from pharmacrm.core.notifications import send_daily_digest


def beat(worker: str | None = None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=worker or socket.gethostname(), defaults={"beat_at": timezone.now()}
    )


@on_startup()
def beat_at_start() -> None:
    """A starting worker beats at once, so /healthz calls it alive from the first request, not a minute later."""
    beat()


@db_periodic_task(crontab(minute="*"))
def worker_heartbeat() -> None:
    """Every minute: prove the worker is alive (read by /healthz)."""
    beat()


@db_periodic_task(crontab(minute="0"))
def daily_digest() -> None:
    """Once a day, at the hour set by the notifications.digest_hour policy (China time),
    mail each user their unread notifications of the last day."""
    from pharmacrm.core import policy

    if timezone.localtime().hour == int(policy.get("notifications.digest_hour")):
        send_daily_digest()


@db_task(retries=0)
def run_import(job_id: int, commit: bool) -> None:
    """Check (and, when ``commit``, write) one spreadsheet import; see core.imports."""
    from pharmacrm.core import imports

    imports.run(job_id, commit=commit)
