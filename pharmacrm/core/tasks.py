"""Background jobs of the shared mechanisms. Periodic jobs are declared here, beside their task.

Tasks take ids, call one service and are safe to run twice.
"""

from __future__ import annotations

import socket

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.core.models import WorkerHeartbeat
from pharmacrm.core.notifications import send_daily_digest


def beat(worker: str | None = None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=worker or socket.gethostname(), defaults={"beat_at": timezone.now()}
    )


@db_periodic_task(crontab(minute="*"))
def worker_heartbeat() -> None:
    """Every minute: prove the worker is alive (read by /healthz)."""
    beat()


@db_periodic_task(crontab(hour="0", minute="0"))  # 08:00 Asia/Shanghai (huey schedules in UTC)
def daily_digest() -> None:
    """Every morning: mail each user their unread notifications of the last day."""
    send_daily_digest()
