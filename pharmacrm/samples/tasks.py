"""Background jobs of samples. Tasks call one service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.samples import services


@db_periodic_task(crontab(minute="20", hour="7"))
def stock_count_reminders() -> None:
    """Every morning (China time): reps whose sample count is due today, or overdue by whole weeks."""
    services.send_count_reminders()
