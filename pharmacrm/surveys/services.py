"""Every write of satisfaction surveys (seed 000 四.3 客户满意度调查, seed 003 四.4, 四.3 直至客户满意).

Rules:

* A question set is a list of typed questions: at most one satisfaction score (1–5), at most one recommendation
  score (0–10), free text; at least one question. One set is the one a closed case's survey asks.
* A closed case asks its contact once (``invite_after_case``, subscribed to ``service.signals.case_closed``) if
  the contact consented to surveys on a channel a link can travel on (PIPL 第十四条: person × channel × purpose);
  otherwise the invitation records why nobody was asked. Delivery is outside the system: with consent on email
  and an address on file the link is mailed; else whoever sends it makes the link (``make_link``), which is shown
  once — only the SHA-256 of its 256-bit secret is kept.
* A campaign is launched once: its segment's contacts with survey consent on the campaign's channel in force
  today get an invitation each — one ``SELECT`` and one bulk insert, whatever the segment's size.
* A link works once, until ``surveys.link_days`` after it was made (and not after its campaign closes); making a
  new one ends the old.
* A score at or below ``surveys.low_csat`` / ``surveys.low_nps`` opens a follow-up complaint for the customer
  (seed 003 四.3: until the customer is satisfied) and tells the customer's rep and the closed case's owner.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pharmacrm.core import policy
from pharmacrm.core.audit import audited_bulk_create, audited_create, audited_update
from pharmacrm.core.notifications import notify
from pharmacrm.core.validators import clean_text
from pharmacrm.customers.choices import ConsentPurpose, InstitutionKind, InstitutionStatus
from pharmacrm.customers.models import Affiliation, Consent, Contact, Institution
from pharmacrm.grading.choices import CLASSES
from pharmacrm.grading.models import Classification
from pharmacrm.org.models import User
from pharmacrm.org.roles import Role
from pharmacrm.org.scope import authorize
from pharmacrm.surveys.choices import Audience, CampaignStatus, QuestionKind, SkipReason, SurveyChannel
from pharmacrm.surveys.models import MAX_ANSWER, QuestionSet, SurveyCampaign, SurveyInvitation, SurveyResponse

logger = logging.getLogger(__name__)

#: a question set asks at most this many questions
MAX_QUESTIONS = 20
MAX_QUESTION_TEXT = 300
#: the longest secret accepted from a link (``token_urlsafe(32)`` is 43 characters)
MAX_TOKEN_LENGTH = 100
#: the channel a case's survey prefers when the contact consented to several
CHANNEL_PREFERENCE = (SurveyChannel.EMAIL, SurveyChannel.WECHAT, SurveyChannel.SMS)
#: the questions of the case survey when nobody has written one (customer-facing text: Chinese, as the customers)
DEFAULT_CASE_QUESTIONS = [
    {"kind": QuestionKind.CSAT, "text": "您对本次问题的处理结果是否满意？"},
    {"kind": QuestionKind.NPS, "text": "您有多大可能向同行推荐我们的产品和服务？"},
    {"kind": QuestionKind.TEXT, "text": "您还有什么意见或建议？"},
]
DEFAULT_CASE_QUESTION_SET_NAME = "售后服务满意度回访"


class AlreadyAnswered(Exception):
    """The link was used already."""


class LinkExpired(Exception):
    """The link is past its date, or its campaign closed."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, digest(token)


# --- question sets -----------------------------------------------------------------------------------------------


def clean_questions(questions: Any) -> list[dict[str, str]]:
    """``[{"kind": …, "text": …}, …]`` checked; each question gets its key (``csat``, ``nps``, ``text1``…)."""
    if not isinstance(questions, list) or not questions:
        raise ValidationError({"questions": _("Ask at least one question.")})
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError({"questions": _("At most %(limit)d questions.") % {"limit": MAX_QUESTIONS}})
    cleaned, texts = [], 0
    for question in questions:
        if not isinstance(question, Mapping):
            raise ValidationError({"questions": _("Each question needs a kind and a text.")})
        kind, text = question.get("kind"), question.get("text")
        if kind not in QuestionKind.values:
            raise ValidationError({"questions": _("Choose the kind of each question: csat, nps or text.")})
        if not isinstance(text, str) or not text.strip() or len(text.strip()) > MAX_QUESTION_TEXT:
            raise ValidationError({"questions": _("Each question needs a text of at most %(limit)d characters.") % {
                "limit": MAX_QUESTION_TEXT}})
        if kind == QuestionKind.TEXT:
            texts += 1
            key = f"text{texts}"
        else:
            key = str(kind)
            if any(item["key"] == key for item in cleaned):
                raise ValidationError({"questions": _("A set asks each score once.")})
        cleaned.append({"key": key, "kind": str(kind), "text": text.strip()})
    return cleaned


def save_question_set(*, actor: Any, name: str, questions: Any, active: bool = True, for_cases: bool = False,
                      question_set: QuestionSet | None = None) -> QuestionSet:
    """Write a question set; making it the closed cases' set takes that role from the previous one. A set already
    sent keeps its questions (answers must keep meaning what was asked): copy it instead."""
    authorize(actor, "surveys.add_questionset" if question_set is None else "surveys.change_questionset")
    name = clean_text(name, "name", 100, required=True)
    cleaned = clean_questions(questions)
    clash = QuestionSet.objects.filter(name=name)
    if question_set is not None:
        clash = clash.exclude(pk=question_set.pk)
        if cleaned != question_set.questions and SurveyInvitation.objects.filter(question_set=question_set).exists():
            raise ValidationError({"questions": _("This set has been sent: its questions stay as they were asked. "
                                                  "Make a new set instead.")})
    if clash.exists():
        raise ValidationError({"name": _("A question set with this name exists already.")})
    values = {"name": name, "questions": cleaned, "active": bool(active), "for_cases": bool(for_cases)}
    with transaction.atomic():
        if for_cases:
            for previous in QuestionSet.objects.filter(for_cases=True).exclude(pk=getattr(question_set, "pk", None)):
                audited_update(previous, actor=actor, changes={"for_cases": False})
        if question_set is None:
            return audited_create(QuestionSet, actor=actor, created_by=actor, **values)
        return audited_update(question_set, actor=actor, changes=values)


def case_question_set() -> QuestionSet:
    """The set a closed case's survey asks; the built-in one (created by the system) when none is chosen."""
    chosen = QuestionSet.objects.filter(for_cases=True, active=True).first()
    if chosen is not None:
        return chosen
    existing = QuestionSet.objects.filter(name=DEFAULT_CASE_QUESTION_SET_NAME).first()
    if existing is not None:
        return existing
    return audited_create(QuestionSet, actor=None, name=DEFAULT_CASE_QUESTION_SET_NAME,
                          questions=clean_questions(DEFAULT_CASE_QUESTIONS), for_cases=True, created_by=None)


# --- consent -----------------------------------------------------------------------------------------------------


def _survey_consents(on: datetime.date) -> QuerySet:
    return Consent.objects.filter(purpose=ConsentPurpose.SURVEY, granted_on__lte=on).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))


def survey_channels(contact: Contact, on: datetime.date) -> list[str]:
    """The link channels the contact consented to surveys on, in force ``on``, in order of preference."""
    granted = set(_survey_consents(on).filter(contact=contact).values_list("channel", flat=True))
    return [channel for channel in CHANNEL_PREFERENCE if channel in granted]


def consented(channel: str, on: datetime.date) -> Exists:
    return Exists(_survey_consents(on).filter(contact=OuterRef("pk"), channel=channel))


# --- links -------------------------------------------------------------------------------------------------------


def _expiry(now: datetime.datetime, campaign: SurveyCampaign | None) -> datetime.datetime:
    expires = now + datetime.timedelta(days=int(policy.get("surveys.link_days")))
    if campaign is not None:
        end = datetime.datetime.combine(campaign.closes_on + datetime.timedelta(days=1), datetime.time(),
                                        tzinfo=policy.CHINA)
        expires = min(expires, end)
    return expires


def survey_url(token: str, base_url: str = "") -> str:
    from django.urls import reverse

    return f"{base_url}{reverse('survey_public', args=[token])}"


def _mail_links(links: list[tuple[str, str]], base_url: str) -> None:
    """Mail each (address, token) its link after the commit (the secret never reaches the database)."""
    if not links or not base_url:
        return
    subject = _("A short satisfaction survey")
    messages = [(subject, _("Thank you for working with us. Please tell us how we did (one page, a minute):\n%(url)s")
                 % {"url": survey_url(token, base_url)}, settings.DEFAULT_FROM_EMAIL, [address])
                for address, token in links]
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))


def public_address() -> str:
    """Where customers open survey links (the ``SITE_URL`` setting); empty: links are not mailed."""
    return str(getattr(settings, "SITE_URL", "") or "").rstrip("/")


def make_link(*, actor: Any, invitation: SurveyInvitation) -> str:
    """A new link for an invitation not answered yet (the previous one stops working); returned once, never
    stored."""
    authorize(actor, "surveys.send_surveyinvitation")
    if not SurveyInvitation.objects.visible_to(actor).filter(pk=invitation.pk).exists():
        raise PermissionDenied
    if invitation.skip_reason:
        raise ValidationError({"invitation": _("This contact cannot be asked: %(reason)s.") % {
            "reason": invitation.get_skip_reason_display()}})
    if invitation.used_at is not None:
        raise ValidationError({"invitation": _("This survey has been answered.")})
    campaign = invitation.campaign
    if campaign is not None and campaign.status != CampaignStatus.OPEN:
        raise ValidationError({"invitation": _("The campaign is not open.")})
    token, hashed = _new_token()
    now = timezone.now()
    audited_update(invitation, actor=actor, changes={"token_hash": hashed, "sent_at": now,
                                                     "expires_at": _expiry(now, campaign)},
                   reason=_("New survey link; the previous one stops working"))
    return token


# --- after a closed case -----------------------------------------------------------------------------------------


def invite_after_case(sender: Any = None, *, case: Any, **kwargs: Any) -> SurveyInvitation | None:
    """A closed case asks its contact how it went, once per case (a reopened and closed again case is not asked
    twice). Runs in the closing transaction; the system is the actor."""
    if SurveyInvitation.objects.filter(case=case).exists():
        return None
    question_set = case_question_set()
    values: dict[str, Any] = {"case": case, "question_set": question_set, "institution_id": case.institution_id,
                              "contact": case.contact}
    channels = survey_channels(case.contact, policy.today()) if case.contact_id else []
    if case.contact_id is None:
        values["skip_reason"] = SkipReason.NO_CONTACT
    elif not channels:
        values["skip_reason"] = SkipReason.NO_CONSENT
    else:
        values["channel"] = channels[0]
    token = ""
    if values.get("channel") == SurveyChannel.EMAIL and case.contact.email and public_address():
        token, values["token_hash"] = _new_token()
        now = timezone.now()
        values.update(sent_at=now, expires_at=_expiry(now, None))
    try:
        with transaction.atomic():
            invitation = audited_create(SurveyInvitation, actor=None, **values)
    except IntegrityError:  # closed twice at once: the other closing asked
        return None
    if token:
        _mail_links([(case.contact.email, token)], public_address())
    elif not invitation.skip_reason and case.owner.is_active:
        notify(case.owner, _("Satisfaction survey for %(case)s: make the link and send it to the contact") % {
            "case": case.number}, url=_invitation_url(invitation))
    return invitation


def _invitation_url(invitation: SurveyInvitation) -> str:
    from django.urls import reverse

    return f"{reverse('surveys:invitation_list')}?invitation={invitation.pk}"


# --- campaigns ---------------------------------------------------------------------------------------------------


def audience_classes(audience: str) -> list[str]:
    if audience == Audience.CUSTOMER_TYPE:
        return list(InstitutionKind.values)
    choices = CLASSES.get(audience)
    return list(choices.values) if choices else []


def check_audience(audience: str, klass: str) -> str:
    if audience not in Audience.values:
        raise ValidationError({"audience": _("Choose one of the options.")})
    if audience in (Audience.ALL, Audience.KEY_ACCOUNTS):
        return ""
    if klass not in audience_classes(audience):
        raise ValidationError({"klass": _("Choose one of the classes of this dimension.")})
    return klass


def segment_customers(audience: str, klass: str) -> QuerySet:
    """Live, not terminated customers of the audience (classes as the last grading run left them; key accounts:
    its key-account candidates)."""
    customers = Institution.objects.live().exclude(status=InstitutionStatus.TERMINATED)
    if audience == Audience.ALL:
        return customers
    if audience == Audience.CUSTOMER_TYPE:
        return customers.filter(kind=klass)
    if audience == Audience.KEY_ACCOUNTS:
        return customers.filter(pk__in=Classification.objects.filter(ka_rank__isnull=False).values("institution_id"))
    return customers.filter(pk__in=Classification.objects.filter(**{audience: klass}).values("institution_id"))


def segment_contacts(audience: str, klass: str, on: datetime.date) -> QuerySet:
    """Contacts whose main institution is in the segment and who have not left it."""
    there = Affiliation.objects.filter(contact=OuterRef("pk"), institution=OuterRef("institution_id"))
    current = there.filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
    return (Contact.objects.filter(institution__in=segment_customers(audience, klass).values("pk"))
            .exclude(Exists(there) & ~Exists(current)).order_by())


def save_campaign(*, actor: Any, name: str, question_set: QuestionSet | None, audience: str, klass: str = "",
                  channel: str, opens_on: datetime.date, closes_on: datetime.date,
                  campaign: SurveyCampaign | None = None, expected_version: int | None = None) -> SurveyCampaign:
    """A campaign as a draft; once launched only its name and closing date change."""
    authorize(actor, "surveys.add_surveycampaign" if campaign is None else "surveys.change_surveycampaign")
    errors: dict[str, str] = {}
    name = clean_text(name, "name", 100, required=True)
    if question_set is None or not question_set.active:
        errors["question_set"] = _("Choose an active question set.")
    try:
        klass = check_audience(audience, klass)
    except ValidationError as error:
        errors.update({key: value[0] for key, value in error.message_dict.items()})
    if channel not in SurveyChannel.values:
        errors["channel"] = _("Choose one of the channels.")
    if not isinstance(opens_on, datetime.date) or not isinstance(closes_on, datetime.date):
        errors["opens_on"] = _("Enter a valid date.")
    elif closes_on < opens_on:
        errors["closes_on"] = _("The campaign closes after it opens.")
    if errors:
        raise ValidationError(errors)
    values = {"name": name, "question_set": question_set, "audience": audience, "klass": klass, "channel": channel,
              "opens_on": opens_on, "closes_on": closes_on}
    if campaign is None:
        return audited_create(SurveyCampaign, actor=actor, created_by=actor, **values)
    if campaign.status != CampaignStatus.DRAFT:
        fixed = {key for key in values if key not in ("name", "closes_on") and values[key] != getattr(campaign, key)}
        if fixed:
            raise ValidationError({sorted(fixed)[0]: _("A launched campaign keeps its questions and recipients.")})
    return audited_update(campaign, actor=actor, changes=values, expected_version=expected_version)


@dataclass
class Launch:
    campaign: SurveyCampaign
    #: (invitation, secret) pairs: the links, shown once
    links: list[tuple[SurveyInvitation, str]]


def launch_campaign(*, actor: Any, campaign: SurveyCampaign, base_url: str = "") -> Launch:
    """Invite the segment's contacts with survey consent on the campaign's channel: one ``SELECT`` of them, one
    bulk insert of their invitations (each its own secret), counts on the campaign. Links go by email when the
    channel is email; otherwise the page shows them once for the reps to send."""
    authorize(actor, "surveys.launch_surveycampaign")
    today = policy.today()
    with transaction.atomic():
        campaign = SurveyCampaign.objects.select_for_update().filter(pk=getattr(campaign, "pk", None)).first()
        if campaign is None:
            raise ValidationError({"campaign": _("Not found.")})
        if campaign.status != CampaignStatus.DRAFT:
            raise ValidationError({"campaign": _("This campaign has been launched already.")})
        if campaign.closes_on < today:
            raise ValidationError({"closes_on": _("The campaign's closing date has passed.")})
        if not campaign.question_set.active:
            raise ValidationError({"question_set": _("Choose an active question set.")})
        contacts = segment_contacts(campaign.audience, campaign.klass, today)
        in_segment = contacts.count()
        recipients = list(contacts.filter(consented(campaign.channel, today))
                          .values_list("pk", "institution_id", "email"))
        now = timezone.now()
        expires = _expiry(now, campaign)
        links, mails = [], []
        rows = []
        for contact_id, institution_id, email in recipients:
            token, hashed = _new_token()
            rows.append(SurveyInvitation(campaign=campaign, question_set_id=campaign.question_set_id,
                                         institution_id=institution_id, contact_id=contact_id,
                                         channel=campaign.channel, token_hash=hashed, sent_at=now, expires_at=expires))
            links.append(token)
            if campaign.channel == SurveyChannel.EMAIL and email:
                mails.append((email, token))
        created = audited_bulk_create(SurveyInvitation, rows, actor=actor, reason=str(campaign))
        campaign = audited_update(campaign, actor=actor, changes={
            "status": CampaignStatus.OPEN, "launched_by": actor, "launched_at": now, "in_segment": in_segment,
            "invited": len(created), "skipped_no_consent": in_segment - len(created)})
        _mail_links(mails, (base_url or public_address()).rstrip("/"))
    return Launch(campaign, list(zip(created, links, strict=True)))


def close_campaign(*, actor: Any, campaign: SurveyCampaign) -> SurveyCampaign:
    """Close an open campaign: its links stop working."""
    authorize(actor, "surveys.launch_surveycampaign")
    if campaign.status != CampaignStatus.OPEN:
        raise ValidationError({"campaign": _("Only an open campaign closes.")})
    return audited_update(campaign, actor=actor, changes={"status": CampaignStatus.CLOSED})


# --- answering ---------------------------------------------------------------------------------------------------


def find_invitation(token: Any) -> SurveyInvitation | None:
    """The invitation whose link this is, or None (unknown, forged, replaced by a newer link)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return (SurveyInvitation.objects.filter(token_hash=digest(token))
            .select_related("question_set", "campaign").first())


def check_open(invitation: SurveyInvitation) -> None:
    """Raise AlreadyAnswered or LinkExpired when the link cannot take an answer."""
    if invitation.used_at is not None:
        raise AlreadyAnswered
    if invitation.expired or (invitation.campaign_id and invitation.campaign.status != CampaignStatus.OPEN):
        raise LinkExpired


def clean_answers(question_set: QuestionSet, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to the set's questions, each checked against its kind; scores are required, text is not."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in question_set.questions:
        key, kind = question["key"], question["kind"]
        value = raw.get(key)
        if kind == QuestionKind.TEXT:
            text = str(value or "").strip() if isinstance(value, (str, int)) or value is None else None
            if text is None or len(text) > MAX_ANSWER:
                errors[key] = _("At most %(limit)d characters.") % {"limit": MAX_ANSWER}
            elif text:
                answers[key] = text
            continue
        high, low = (5, 1) if kind == QuestionKind.CSAT else (10, 0)
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            errors[key] = _("Choose a score from %(low)d to %(high)d.") % {"low": low, "high": high}
        else:
            answers[key] = number
    if errors:
        raise ValidationError(errors)
    return answers


def answer(*, invitation: SurveyInvitation, raw: Mapping[str, Any]) -> SurveyResponse:
    """Record the answer to one invitation, once: the link is used up in the same transaction. A low score opens
    a follow-up case."""
    answers = clean_answers(invitation.question_set, raw)
    comment = next((answers[question["key"]] for question in invitation.question_set.questions
                    if question["kind"] == QuestionKind.TEXT and question["key"] in answers), "")
    now = timezone.now()
    with transaction.atomic():
        # lock the invitation row only: PostgreSQL refuses FOR UPDATE on the nullable side of the campaign's join
        current = (SurveyInvitation.objects.select_for_update(of=("self",)).select_related("campaign", "question_set")
                   .get(pk=invitation.pk))
        check_open(current)
        try:
            with transaction.atomic():
                response = audited_create(SurveyResponse, actor=None, invitation=current, campaign=current.campaign,
                                          institution_id=current.institution_id, answers=answers,
                                          csat=answers.get(QuestionKind.CSAT), nps=answers.get(QuestionKind.NPS),
                                          comment=comment, answered_at=now)
        except IntegrityError as error:  # answered at the same moment through the same link
            raise AlreadyAnswered from error
        audited_update(current, actor=None, changes={"used_at": now}, reason=_("Answered through the survey link"))
        if is_low(response):
            _follow_up(current, response)
    return response


def is_low(response: SurveyResponse) -> bool:
    return ((response.csat is not None and response.csat <= int(policy.get("surveys.low_csat")))
            or (response.nps is not None and response.nps <= int(policy.get("surveys.low_nps"))))


def _follow_up_actor(invitation: SurveyInvitation) -> Any:
    """Who opens the follow-up case on the system's behalf: the closed case's owner, else the customer's rep,
    else the service desk, else whoever launched the campaign — the first active one who may log a case for this
    customer."""
    institution = invitation.institution
    candidates = [invitation.case.owner if invitation.case_id else None, institution.owner,
                  *User.objects.filter(role=Role.SERVICE, is_active=True).order_by("id")[:5],
                  invitation.campaign.launched_by if invitation.campaign_id else None]
    for user in candidates:
        if (user is not None and user.is_active and user.has_perm("service.add_case")
                and Institution.objects.visible_to(user).filter(pk=institution.pk).exists()):
            return user
    return None


def _follow_up(invitation: SurveyInvitation, response: SurveyResponse) -> None:
    """A low score: a follow-up complaint for the customer (the service desk owns it, the rep gets a
    problem-customer visit), and the rep and the closed case's owner are told."""
    from pharmacrm.service import services as service
    from pharmacrm.service.choices import CaseChannel, CaseKind, Severity

    actor = _follow_up_actor(invitation)
    if actor is None:
        logger.warning("survey response %s: nobody may open the follow-up case", response.pk)
        return
    contact = invitation.contact
    if contact is not None and not Contact.objects.visible_to(actor).filter(pk=contact.pk).working_at(
            invitation.institution).exists():
        contact = None
    scores = ", ".join(filter(None, [
        _("satisfaction %(score)d/5") % {"score": response.csat} if response.csat is not None else "",
        _("recommendation %(score)d/10") % {"score": response.nps} if response.nps is not None else ""]))
    title = _("Low survey score: %(source)s") % {"source": invitation.source_label}
    description = _("Survey answered %(at)s: %(scores)s.\nComment: %(comment)s") % {
        "at": timezone.localtime(response.answered_at, policy.CHINA).strftime("%Y-%m-%d %H:%M"), "scores": scores,
        "comment": response.comment or "—"}
    channel = {SurveyChannel.EMAIL: CaseChannel.EMAIL, SurveyChannel.WECHAT: CaseChannel.WECHAT}.get(
        invitation.channel, CaseChannel.OTHER)
    try:
        with transaction.atomic():
            case = service.open_case(actor=actor, institution=invitation.institution, kind=CaseKind.COMPLAINT,
                                     title=title[:200], description=description, contact=contact, channel=channel,
                                     severity=Severity.HIGH,
                                     product=invitation.case.product if invitation.case_id else None)
            audited_update(response, actor=None, changes={"follow_up_case": case},
                           reason=_("Low score: follow-up case opened"))
    except (ValidationError, PermissionDenied):
        logger.exception("survey response %s: the follow-up case could not be opened", response.pk)
        return
    told = {case.owner_id}
    for person in (invitation.institution.owner, invitation.case.owner if invitation.case_id else None):
        if person is not None and person.is_active and person.pk not in told:
            told.add(person.pk)
            notify(person, _("Low survey score for %(customer)s: %(case)s") % {
                "customer": invitation.institution.name, "case": case.number}, url=case.get_absolute_url())
