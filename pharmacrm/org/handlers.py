"""Auth events into the audit trail, and role groups kept in sync after migrate.

These are framework events (login, logout, failed login, lockout), not
business effects, so signals are the right tool here.
"""

from __future__ import annotations

import time
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from pharmacrm.core.audit import log_event
from pharmacrm.core.models import AuditAction
from pharmacrm.core.signatures import reset_continuity, signing_locked_out
from pharmacrm.org.middleware import ACTIVITY_KEY


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session["language"] = user.language
        reset_continuity(request.session)  # a new login: its first signing gives username and password
        # the idle clock starts at the login, not at the first request after it
        request.session[ACTIVITY_KEY] = int(time.time())
    log_event(AuditAction.LOGIN, actor=user, obj=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        log_event(AuditAction.LOGOUT, actor=user, obj=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    log_event(AuditAction.LOGIN_FAILED, object_repr=username, changes={"username": username})


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def audit_lockout(sender: Any, request: Any = None, username: str | None = None, ip_address: str | None = None,
                  **kwargs: Any) -> None:
    from pharmacrm.org.services import report_lockout

    report_lockout(username or "", ip_address)


@receiver(signing_locked_out, dispatch_uid="audit_signing_lockout")
def audit_signing_lockout(sender: Any, user: Any, ip_address: str | None = None, **kwargs: Any) -> None:
    from pharmacrm.org.services import report_lockout

    report_lockout(user.get_username(), ip_address, signing=True)


@receiver(post_migrate, dispatch_uid="sync_roles")
def sync_roles_after_migrate(sender: Any, app_config: Any = None, **kwargs: Any) -> None:
    from django.apps import apps

    # After the last app, when every app's permissions exist.
    if app_config is not None and app_config is list(apps.get_app_configs())[-1]:
        from pharmacrm.org.services import sync_role_groups

        sync_role_groups()
