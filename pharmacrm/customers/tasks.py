"""Background jobs of customer master data. Tasks call one service and are safe to run twice."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from pharmacrm.customers import qualification


@db_periodic_task(crontab(minute="15", hour="7"))
def licence_expiry_alerts() -> None:
    """Every morning (China time): expiry alerts at 90/60/30 days and on expiry, and the
    qualification badges that the calendar alone changes."""
    qualification.send_expiry_alerts()
