"""What every page of the shell needs: navigation and the unread-notification count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pharmacrm.core.approvals import awaiting_decision
from pharmacrm.core.models import Notification


def navigation(user: Any, awaiting_approval_count: int = 0) -> list[dict[str, Any]]:
    """Modules in the navigation bar, each shown only to roles that can use it."""
    items = [
        {"label": _("Home"), "url": reverse("core:home"), "icon": "house"},
    ]
    if user.has_perm("customers.view_institution"):
        items.append({"label": _("Institutions"), "url": reverse("customers:institution_list"), "icon": "hospital"})
    if user.has_perm("customers.view_contact"):
        items.append({"label": _("Contacts"), "url": reverse("customers:contact_list"), "icon": "person-vcard"})
    if user.has_perm("sales.view_order"):
        items.append({"label": _("Orders"), "url": reverse("sales:order_list"), "icon": "cart"})
    if user.has_perm("engagement.view_visit"):
        items.append({"label": _("Visits"), "url": reverse("engagement:today"), "icon": "calendar-check"})
    if user.has_perm("service.view_case"):
        items.append({"label": _("Service"), "url": reverse("service:queue"), "icon": "life-preserver"})
    if user.has_perm("surveys.view_surveyresponse"):
        items.append({"label": _("Surveys"), "url": reverse("surveys:home"), "icon": "emoji-smile"})
    if user.has_perm("content.view_contentitem"):
        items.append({"label": _("Content"), "url": reverse("content:home"), "icon": "journal-richtext"})
    if user.has_perm("samples.view_stockbalance"):
        items.append({"label": _("Samples"), "url": reverse("samples:inventory"), "icon": "box2-heart"})
    if user.has_perm("grading.view_classification"):
        items.append({"label": pgettext_lazy("navigation", "Grading"), "url": reverse("grading:overview"),
                      "icon": "bar-chart-steps"})
    if user.has_perm("sales.view_product"):
        items.append({"label": _("Products"), "url": reverse("sales:product_list"), "icon": "capsule"})
    if user.has_perm("customers.steward_institution"):
        items.append({"label": _("Data stewardship"), "url": reverse("customers:changerequest_list"),
                      "icon": "clipboard-check"})
    if user.has_perm("sales.view_flowmapping"):
        items.append({"label": _("Flow mapping"), "url": reverse("sales:flow_mappings"), "icon": "signpost-split"})
    if user.has_perm("customers.import_institution"):
        items.append({"label": _("Imports"), "url": reverse("imports:list"), "icon": "upload"})
    items.append({"label": _("Approvals"), "url": reverse("core:approval_list"), "icon": "check2-square",
                  "badge": awaiting_approval_count})
    items.append({"label": _("Organisation"), "url": reverse("org:team_tree"), "icon": "diagram-3"})
    if user.has_perm("org.view_accountrequest"):
        items.append({"label": _("Account requests"), "url": reverse("org:accountrequest_list"), "icon": "person-plus"})
    if user.has_perm("core.view_auditentry"):
        items.append({"label": _("Audit trail"), "url": reverse("core:audit_list"), "icon": "journal-text"})
    if user.has_perm("privacy.view_subjectrequest"):
        items.append({"label": _("Personal data"), "url": reverse("privacy:request_list"), "icon": "shield-lock"})
    if user.has_perm("core.change_policyvalue") or user.has_perm("core.change_calendarday"):
        items.append({"label": _("Settings"), "url": reverse("core:policy_list"), "icon": "sliders"})
    return items


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    awaiting_approval_count = awaiting_decision(user).count()
    return {
        "nav_items": navigation(user, awaiting_approval_count),
        "awaiting_approval_count": awaiting_approval_count,
        "unread_count": Notification.objects.visible_to(user).unread().count(),
    }
