"""The inventory of personal data: every model that holds something about a person (a contact), which
of its fields are personal, how it reaches the contact, and what a deletion does to it.

It drives the access copy (PIPL Art.45: every personal field of the subject across tables), the
deletion (Art.47) and the retention purge. ``tests/reliability/test_c10_subject_rights.py`` walks every
model field of the project and fails on a personal-looking one that is neither here nor in
``NOT_PERSONAL`` (with the reason it is not).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class Entry:
    """``fields`` of ``model`` are the person's; ``contact`` is the lookup from the model to the contact."""

    model: str
    contact: str
    fields: tuple[str, ...]
    #: on deletion: "anonymise" (the contact row), "blank" (clear the fields), "keep" (a legal or GxP record
    #: keeps them; ``reason`` says why)
    on_delete: str = "blank"
    reason: str = ""

    @property
    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


def _contact_fields() -> tuple[str, ...]:
    from pharmacrm.customers.models import Contact

    return Contact.subject_fields


INVENTORY: tuple[Entry, ...] = (
    Entry("customers.Contact", "pk", (), on_delete="anonymise"),  # fields: Contact.subject_fields
    Entry("customers.Affiliation", "contact", ("department", "title", "start_date", "end_date"), on_delete="blank"),
    Entry("customers.Consent", "contact", ("channel", "purpose", "granted_on", "scope", "evidence", "evidence_file",
                                           "withdrawn_on", "withdrawal_note"), on_delete="keep",
          reason="Proof of consent and of its withdrawal (PIPL Art.14/15), kept for the accountability period."),
    Entry("service.Case", "contact", ("title", "description", "solution", "corrective_action"), on_delete="keep",
          reason="Complaint and quality cases are GxP records (21 CFR 211.198); other cases keep their business "
                 "content, their person is anonymised through the contact."),
    Entry("service.CaseNote", "case__contact", ("body",), on_delete="keep",
          reason="Part of the case record."),
    Entry("engagement.Communication", "contact", ("summary",), on_delete="blank"),
    Entry("engagement.Greeting", "contact", ("text",), on_delete="blank"),
    Entry("engagement.Visit", "contacts_met", ("feedback", "objections", "agreements"), on_delete="keep",
          reason="A call report is the institution's record (compliance reviews it); the person in it is "
                 "anonymised through the contact."),
    Entry("samples.Disbursement", "contact", ("signature", "place", "notes"), on_delete="keep",
          reason="Sample distribution records (Drug Administration Law: samples must be traceable to the "
                 "recipient); kept for their retention period."),
    Entry("content.ContentDelivery", "contact", ("channel",), on_delete="keep",
          reason="Proof of what was sent on which consent."),
    Entry("surveys.SurveyInvitation", "contact", ("channel", "sent_at", "used_at"), on_delete="keep",
          reason="No personal content: who was asked when."),
    Entry("surveys.SurveyResponse", "invitation__contact", ("answers", "comment"), on_delete="blank"),
    Entry("privacy.SubjectRequest", "contact", ("details", "corrections", "outcome"), on_delete="keep",
          reason="The register of the person's own requests (PIPL Art.50 accountability)."),
    Entry("privacy.RetainedPersonalData", "contact", ("sealed_identity",), on_delete="keep",
          reason="What a GxP record must keep; quality assurance only."),
)


def entries() -> list[Entry]:
    """The inventory with the contact's own fields filled in, only for models that exist and fields they have."""
    result = []
    for entry in INVENTORY:
        model = entry.model_class
        fields = entry.fields or (_contact_fields() if entry.model == "customers.Contact" else ())
        names = {field.name for field in model._meta.get_fields()}
        result.append(Entry(entry.model, entry.contact, tuple(name for name in fields if name in names),
                            entry.on_delete, entry.reason))
    return result


def declared_fields() -> set[tuple[str, str]]:
    """(model label, field name) of every inventoried field."""
    return {(entry.model, name) for entry in entries() for name in entry.fields}


#: fields that look personal by name but are not a person's data (the reason is the comment)
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("customers.Contact", "mobile_index"): "HMAC of the sealed mobile: no value without the key; recomputed (empty) "
                                           "when a deletion clears the mobile",
    ("engagement.Visit", "review_comment"): "the manager's review of the rep's report: about the rep's work",
}
