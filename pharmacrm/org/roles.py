"""Roles of a pharma company (DESIGN.md "Who uses it") and the row scope each gets.

This module is the one place that decides scope: own / team / region / all.
Each role is also a Django group holding its model permissions (``sync_roles``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REP = "rep", _("Sales rep")
    ACADEMIC_REP = "academic_rep", _("Academic rep")
    MANAGER = "manager", _("Team manager")
    REGIONAL_MANAGER = "regional_manager", _("Regional manager")
    STEWARD = "steward", _("Customer-data steward")
    KEY_ACCOUNT = "key_account", _("Key-account team")
    MARKETING = "marketing", _("Marketing")
    LEGAL = "legal", _("Legal")
    FINANCE = "finance", _("Finance")
    COMPLIANCE = "compliance", _("Compliance")
    PHARMACOVIGILANCE = "pharmacovigilance", _("Pharmacovigilance")
    LEADER = "leader", _("Leadership")
    ADMIN = "admin", _("System administrator")


class ScopeLevel(models.TextChoices):
    NONE = "none", _("Nothing")
    OWN = "own", _("Own records")
    TEAM = "team", _("Team's records")
    REGION = "region", _("Region's records")
    ALL = "all", _("All records")


ROLE_SCOPE: dict[str, str] = {
    Role.REP: ScopeLevel.OWN,
    Role.ACADEMIC_REP: ScopeLevel.OWN,
    Role.MANAGER: ScopeLevel.TEAM,
    Role.REGIONAL_MANAGER: ScopeLevel.REGION,
    Role.STEWARD: ScopeLevel.ALL,
    Role.KEY_ACCOUNT: ScopeLevel.ALL,
    Role.MARKETING: ScopeLevel.ALL,
    Role.LEGAL: ScopeLevel.ALL,
    Role.FINANCE: ScopeLevel.ALL,
    Role.COMPLIANCE: ScopeLevel.ALL,
    Role.PHARMACOVIGILANCE: ScopeLevel.ALL,
    Role.LEADER: ScopeLevel.ALL,
    Role.ADMIN: ScopeLevel.ALL,
}

#: roles that must use a TOTP second factor (when REQUIRE_ADMIN_2FA is on)
SECOND_FACTOR_ROLES = {Role.ADMIN}

#: roles that read the whole audit trail (the audit search page)
AUDIT_READER_ROLES = {Role.COMPLIANCE, Role.ADMIN}

#: roles that see personal data unmasked (later issues enforce masking)
UNMASKED_PERSONAL_DATA_ROLES = {Role.STEWARD, Role.COMPLIANCE, Role.ADMIN}

#: model permissions per role: "app_label.codename" (checked by services via authorize())
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.REP: {"customers.view_institution", "customers.change_institution", "customers.view_contact",
               "customers.change_contact", "customers.add_contact"},
    Role.ACADEMIC_REP: {"customers.view_institution", "customers.view_contact", "customers.change_contact",
                        "customers.add_contact"},
    Role.MANAGER: {"customers.view_institution", "customers.change_institution", "customers.view_contact",
                   "customers.change_contact", "customers.add_contact", "customers.export_institution",
                   "org.add_accountrequest",
                   "org.view_accountrequest"},
    Role.REGIONAL_MANAGER: {"customers.view_institution", "customers.change_institution",
                            "customers.view_contact", "customers.change_contact", "customers.export_institution",
                            "org.add_accountrequest",
                            "org.view_accountrequest"},
    Role.STEWARD: {"customers.view_institution", "customers.add_institution", "customers.change_institution",
                   "customers.delete_institution", "customers.view_contact", "customers.add_contact",
                   "customers.change_contact", "customers.delete_contact", "customers.export_institution"},
    Role.KEY_ACCOUNT: {"customers.view_institution", "customers.view_contact"},
    Role.MARKETING: {"customers.view_institution", "customers.view_contact", "customers.export_institution"},
    Role.LEGAL: {"customers.view_institution", "customers.view_contact"},
    Role.FINANCE: {"customers.view_institution", "customers.view_contact"},
    Role.COMPLIANCE: {"customers.view_institution", "customers.view_contact", "customers.export_institution",
                      "core.view_auditentry", "core.export_auditentry", "org.view_user"},
    Role.PHARMACOVIGILANCE: {"customers.view_institution", "customers.view_contact"},
    Role.LEADER: {"customers.view_institution", "customers.view_contact", "customers.export_institution",
                  "org.view_accountrequest", "org.view_user"},
    Role.ADMIN: {"customers.view_institution", "customers.add_institution", "customers.change_institution",
                 "customers.delete_institution", "customers.view_contact", "customers.add_contact",
                 "customers.change_contact", "customers.delete_contact", "customers.export_institution",
                 "core.view_auditentry", "core.export_auditentry", "core.change_policyvalue",
                 "core.change_calendarday", "org.add_accountrequest", "org.view_accountrequest",
                 "org.approve_accountrequest", "org.change_user", "org.view_user"},
}
