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
    SERVICE = "service", _("Customer service")
    MEDICAL = "medical", _("Medical affairs")
    QA = "qa", _("Quality assurance")
    DPO = "dpo", _("Personal-information protection officer")
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
    Role.SERVICE: ScopeLevel.ALL,
    Role.MEDICAL: ScopeLevel.ALL,
    Role.QA: ScopeLevel.ALL,
    Role.DPO: ScopeLevel.ALL,
    Role.LEADER: ScopeLevel.ALL,
    Role.ADMIN: ScopeLevel.ALL,
}

#: roles that must use a TOTP second factor (when REQUIRE_ADMIN_2FA is on)
SECOND_FACTOR_ROLES = {Role.ADMIN}

#: roles that read the whole audit trail (the audit search page)
AUDIT_READER_ROLES = {Role.COMPLIANCE, Role.QA, Role.DPO, Role.ADMIN}

#: roles that may reveal a contact's personal data (each reveal audited) and export it unmasked
UNMASKED_PERSONAL_DATA_ROLES = {Role.STEWARD, Role.COMPLIANCE, Role.ADMIN}

#: read access to customer master data and the product catalogue, for every role that works with customers
CUSTOMER_READ = {"customers.view_institution", "customers.view_contact", "customers.view_licence",
                 "customers.view_changerequest", "customers.view_affiliation", "customers.view_consent",
                 "sales.view_product"}
#: the catalogue is kept by marketing (product managers) and admins
CATALOGUE_UPKEEP = {"sales.add_product", "sales.change_product"}
#: what managers add to field work: export and import their customers, ask for accounts for new reps
TEAM_LEADING = {"customers.export_institution", "customers.import_institution", "org.add_accountrequest",
                "org.view_accountrequest"}
#: orders are commercial work (DOMAIN.md 2.1: academic reps take no orders, handle no invoices or payments)
ORDER_READ = {"sales.view_order", "sales.view_shipment", "sales.view_invoice", "sales.view_creditlimit"}
ORDER_TAKING = ORDER_READ | {"sales.add_order", "sales.change_order"}
ORDER_CONFIRMING = ORDER_TAKING | {"sales.confirm_order", "sales.ship_order"}
ORDER_FINANCE = ORDER_READ | {"sales.confirm_order", "sales.override_credit", "sales.invoice_order",
                              "sales.add_creditlimit", "sales.change_creditlimit"}
#: what terminals bought (our deliveries and distributors' flow data): commercial and head-office roles
PURCHASE_READ = {"sales.view_purchase"}
#: distributor flow data comes in through the data stewards, who also keep its name mapping
FLOW_STEWARDSHIP = PURCHASE_READ | {"sales.import_flow", "sales.view_flowmapping", "sales.change_flowmapping"}
#: samples (seed 000 四.1): reps and academic reps hold and hand out samples (academic promotion, not sales work);
#: managers see their team's stock and approve its reconciliations; head office keeps lots and dispatches stock
SAMPLE_READ = {"samples.view_samplelot", "samples.view_stockbalance", "samples.view_stockmovement",
               "samples.view_stocktransfer", "samples.view_disbursement", "samples.view_reconciliation",
               "samples.view_reconciliationline"}
SAMPLE_HOLDING = SAMPLE_READ | {"samples.add_stocktransfer", "samples.add_stockmovement", "samples.add_disbursement",
                                "samples.add_reconciliation"}
SAMPLE_APPROVING = SAMPLE_READ | {"samples.approve_reconciliation"}
#: head office may also adjust any rep's stock either way (change_stockbalance); a rep only writes stock off
SAMPLE_HEAD_OFFICE = SAMPLE_READ | {"samples.add_samplelot", "samples.change_samplelot", "samples.dispatch_samples",
                                    "samples.add_stocktransfer", "samples.add_stockmovement",
                                    "samples.change_stockbalance"}
#: grades and what decided them (amounts in the explanation only with PURCHASE_READ), for every role
GRADING_READ = {"grading.view_classification", "grading.view_gradechange", "grading.view_ruleversion",
                "grading.view_gradingrun", "grading.view_strategy"}
#: marketing drafts and previews rule changes, runs the grading and keeps the strategy table (seed 000 二.3)
GRADING_UPKEEP = GRADING_READ | {"grading.add_ruleversion", "grading.change_ruleversion", "grading.run_grading",
                                 "grading.add_gradingrun", "grading.change_strategy"}
#: visits, call reports, contact logs and follow-ups (seed 000 三): field roles keep their own, managers review
#: their team's reports; compliance reads them all (flagged words), leadership and marketing read them
ENGAGEMENT_READ = {"engagement.view_visit", "engagement.view_visitamendment", "engagement.view_communication",
                   "engagement.view_followup", "engagement.view_greeting", "engagement.view_greetingtemplate",
                   "engagement.view_visitplan", "engagement.view_visitplanline"}
ENGAGEMENT_FIELD_WORK = ENGAGEMENT_READ | {"engagement.add_visit", "engagement.change_visit",
                                           "engagement.add_communication", "engagement.add_followup",
                                           "engagement.change_followup", "engagement.add_greeting",
                                           "engagement.add_visitplan", "engagement.change_visitplan"}
#: marketing writes greeting templates, compliance approves them (a message, never a gift)
GREETING_WRITING = {"engagement.add_greetingtemplate", "engagement.change_greetingtemplate"}
GREETING_APPROVING = {"engagement.approve_greetingtemplate"}
#: managers review their team's reports and approve their visit plans
ENGAGEMENT_REVIEWING = ENGAGEMENT_FIELD_WORK | {"engagement.review_visit", "engagement.approve_visitplan"}
#: content pushes (seed 002 四.(二)): field roles see approved items and what went to their customers' contacts;
#: head office also sees the schedules and every push; marketing writes items and schedules and sends pushes,
#: compliance approves items before any push (promotional and medical material)
CONTENT_READ = {"content.view_contentitem", "content.view_contentdelivery"}
CONTENT_OVERSIGHT = CONTENT_READ | {"content.view_contentschedule", "content.view_contentpush"}
CONTENT_WRITING = CONTENT_OVERSIGHT | {"content.add_contentitem", "content.change_contentitem",
                                       "content.add_contentschedule", "content.change_contentschedule",
                                       "content.add_contentpush"}
CONTENT_APPROVING = CONTENT_OVERSIGHT | {"content.approve_contentitem"}
#: what a field role does to the customers it owns: keep them current, add contacts, licences and consents;
#: reveal the personal data of its own contacts (audited) to call them
CUSTOMER_FIELD_WORK = CUSTOMER_READ | {"customers.add_institution", "customers.change_institution",
                                       "customers.add_contact", "customers.change_contact",
                                       "customers.add_licence", "customers.change_licence",
                                       "customers.view_contact_personal_data"}
#: the data steward's rights (seed 003 二: 客户信息管理)
CUSTOMER_STEWARDSHIP = CUSTOMER_FIELD_WORK | {"customers.delete_institution", "customers.delete_contact",
                                              "customers.export_institution", "customers.steward_institution",
                                              "customers.review_licence", "customers.import_institution"}

#: the service desk (seed 000 四): field roles log cases and add what they learn; the service desk, medical
#: affairs, pharmacovigilance and managers work them; the service desk keeps the assignment rules
SERVICE_READ = {"service.view_case", "service.view_casenote", "service.view_slaclock"}
SERVICE_LOGGING = SERVICE_READ | {"service.add_case", "service.add_casenote"}
SERVICE_WORKING = SERVICE_LOGGING | {"service.work_case", "service.view_assignmentrule"}
SERVICE_DESK = SERVICE_WORKING | {"service.add_assignmentrule", "service.change_assignmentrule"}
#: a case logged in error is voided (kept, with a reason) by the service desk or quality assurance, never deleted
SERVICE_VOIDING = {"service.void_case"}
#: a case's archive (record, audit trail, signatures) is exported and imported by quality assurance and compliance
SERVICE_ARCHIVING = {"service.archive_case", "service.view_casearchive"}
#: satisfaction surveys (seed 000 四.3, seed 003 四.4): everyone who works with customers reads the results of the
#: customers they see; field roles and the desk make survey links to send; managers, leadership and the desk
#: export results; the service desk and marketing write question sets and run campaigns
SURVEY_READ = {"surveys.view_questionset", "surveys.view_surveycampaign", "surveys.view_surveyinvitation",
               "surveys.view_surveyresponse"}
SURVEY_SENDING = SURVEY_READ | {"surveys.send_surveyinvitation"}
SURVEY_EXPORT = {"surveys.export_surveyresponse"}
SURVEY_MANAGING = SURVEY_SENDING | SURVEY_EXPORT | {
    "surveys.add_questionset", "surveys.change_questionset", "surveys.add_surveycampaign",
    "surveys.change_surveycampaign", "surveys.launch_surveycampaign"}

#: model permissions per role: "app_label.codename" (checked by services via authorize())
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.REP: CUSTOMER_FIELD_WORK | ORDER_TAKING | PURCHASE_READ | SAMPLE_HOLDING | GRADING_READ | ENGAGEMENT_FIELD_WORK
    | CONTENT_READ | SERVICE_LOGGING | SURVEY_SENDING,
    # academic reps cover the same hospitals for medical information; they do not create customers
    Role.ACADEMIC_REP: CUSTOMER_READ | SAMPLE_HOLDING | GRADING_READ | ENGAGEMENT_FIELD_WORK | CONTENT_READ
    | SERVICE_LOGGING | SURVEY_READ | {
        "customers.change_contact", "customers.add_contact", "customers.view_contact_personal_data"},
    Role.MANAGER: CUSTOMER_FIELD_WORK | ORDER_CONFIRMING | TEAM_LEADING | PURCHASE_READ | SAMPLE_APPROVING
    | GRADING_READ | ENGAGEMENT_REVIEWING | CONTENT_READ | SERVICE_WORKING | SURVEY_SENDING | SURVEY_EXPORT,
    Role.REGIONAL_MANAGER: CUSTOMER_FIELD_WORK | ORDER_CONFIRMING | TEAM_LEADING | PURCHASE_READ | SAMPLE_APPROVING
    | GRADING_READ | ENGAGEMENT_REVIEWING | CONTENT_READ | SERVICE_WORKING | SURVEY_SENDING | SURVEY_EXPORT,
    Role.STEWARD: CUSTOMER_STEWARDSHIP | FLOW_STEWARDSHIP | GRADING_READ,
    Role.KEY_ACCOUNT: CUSTOMER_READ | ORDER_READ | PURCHASE_READ | GRADING_READ | ENGAGEMENT_FIELD_WORK | CONTENT_READ
    | SERVICE_WORKING | SURVEY_SENDING | {
        "customers.view_contact_personal_data"},
    Role.MARKETING: CUSTOMER_READ | CATALOGUE_UPKEEP | PURCHASE_READ | SAMPLE_HEAD_OFFICE | GRADING_UPKEEP | ENGAGEMENT_READ
    | GREETING_WRITING | CONTENT_WRITING | SERVICE_READ | SURVEY_MANAGING
    | {"customers.export_institution"},
    Role.LEGAL: CUSTOMER_READ | GRADING_READ,
    Role.FINANCE: CUSTOMER_READ | ORDER_FINANCE | PURCHASE_READ | GRADING_READ,
    Role.COMPLIANCE: CUSTOMER_READ | ORDER_READ | SAMPLE_READ | GRADING_READ | ENGAGEMENT_READ | GREETING_APPROVING
    | CONTENT_APPROVING | SERVICE_READ | SERVICE_ARCHIVING | SURVEY_READ | {
        "customers.export_institution", "customers.view_contact_personal_data", "core.view_auditentry",
        "core.export_auditentry", "org.view_user"},
    Role.PHARMACOVIGILANCE: CUSTOMER_READ | GRADING_READ | SERVICE_WORKING | {
        "service.report_pv", "customers.view_contact_personal_data"},
    Role.SERVICE: CUSTOMER_READ | ORDER_READ | SERVICE_DESK | SERVICE_VOIDING | SURVEY_MANAGING
    | {"customers.view_contact_personal_data"},
    Role.MEDICAL: CUSTOMER_READ | SERVICE_WORKING | SURVEY_READ | {"customers.view_contact_personal_data"},
    # quality assurance owns the GxP records: complaint and quality cases, their audit trail and signatures
    Role.QA: CUSTOMER_READ | SERVICE_READ | SERVICE_VOIDING | SERVICE_ARCHIVING
    | {"core.view_auditentry", "core.export_auditentry", "privacy.view_retainedpersonaldata"},
    # the personal-information protection officer (PIPL Art.52): data-subject requests and the access log
    Role.DPO: CUSTOMER_READ | {"customers.view_contact_personal_data", "core.view_auditentry",
                               "core.export_auditentry", "privacy.view_personaldataaccess",
                               "privacy.view_subjectrequest", "privacy.add_subjectrequest",
                               "privacy.handle_subjectrequest", "privacy.view_bulkexport"},
    Role.LEADER: CUSTOMER_READ | ORDER_READ | PURCHASE_READ | SAMPLE_READ | GRADING_READ | ENGAGEMENT_READ
    | CONTENT_OVERSIGHT | SERVICE_READ | SURVEY_READ | SURVEY_EXPORT | {
        "customers.export_institution", "org.view_accountrequest", "org.view_user"},
    Role.ADMIN: CUSTOMER_STEWARDSHIP | CATALOGUE_UPKEEP | ORDER_CONFIRMING | ORDER_FINANCE | FLOW_STEWARDSHIP
    | SAMPLE_HEAD_OFFICE | SAMPLE_APPROVING | GRADING_UPKEEP | ENGAGEMENT_READ | CONTENT_OVERSIGHT | SERVICE_DESK
    | SURVEY_MANAGING | {
        "core.view_auditentry", "core.export_auditentry", "core.change_policyvalue", "core.change_calendarday",
        "org.add_accountrequest", "org.view_accountrequest", "org.approve_accountrequest", "org.change_user",
        "org.view_user"},
}

