"""Terminal customers (institutions), the people who work there (contacts), their
licences (首营资料) and the steward's change requests.

Search: every institution and contact keeps a compact ``search_key`` (normalised
names, pinyin, initials, identifiers — ``core.hanzi``) for substring scans over a
small scoped set, and a row in a full-text side table (``core.search``) for the
whole base. Services keep both current; ``manage.py rebuild_search_index`` rebuilds.
"""

from __future__ import annotations

import datetime
from typing import Any, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.fields import BlindIndexField, PhoneField, SealedCharField, SealedPhoneField
from pharmacrm.core.models import BaseModel, StoredFile
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.core.validators import LANDLINE, MOBILE
from pharmacrm.customers.choices import (
    HOSPITAL_KINDS,
    PARENT_KINDS,
    BirthdayCalendar,
    ConsentChannel,
    ConsentPurpose,
    ContactTitle,
    DecisionRole,
    HospitalGrade,
    InfluenceLevel,
    InstitutionKind,
    InstitutionStatus,
    LicenceKind,
    ProductAwareness,
    PurchaseFrequency,
    QualificationStatus,
    ReviewStatus,
    SourceChannel,
)
from pharmacrm.org.models import Division, Team
from pharmacrm.org.scope import scope_ids, scope_of


class TagQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Tag names are shared labels: anyone who sees customers sees the list of tags."""
        return self if getattr(user, "is_authenticated", False) and user.has_perm(
            "customers.view_institution") else self.none()


class Tag(models.Model):
    """A free label on institutions (e.g. 医联体成员, 带量采购中选医院); kept small and shared."""

    name = models.CharField(_("name"), max_length=30, unique=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


INSTITUTION_OWNERS = ("owner", "academic_owner")


def visible_institution_ids(user: Any) -> models.QuerySet | None:
    """Ids of the institutions the user may see (a subquery), or None for all of them.

    A union of one indexed SELECT per scope condition (``org.scope.scope_ids``): lists
    ordered by id then walk the visible ids newest first instead of sorting the whole
    book, so a rep's or a region's first page costs about what an unscoped one does.
    """
    return scope_ids(scope_of(user), Institution._base_manager.all(), owner=INSTITUTION_OWNERS, team="team",
                     province="province_code", city="city_code", district="division")


class InstitutionQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        ids = visible_institution_ids(user)
        return self if ids is None else self.filter(pk__in=ids)

    def live(self) -> Self:
        """Not merged into another record (merged losers stay for the audit trail and undo)."""
        return self.filter(merged_into__isnull=True)


class Institution(BaseModel):
    """A terminal customer: hospital, primary-care institution, clinic, pharmacy or distributor."""

    # Identity (the "locked" master fields: reps change them through change requests)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    aliases = models.JSONField(_("former names"), default=list, blank=True,
                               help_text=_("Former or other names (曾用名), one per line."))
    code = models.CharField(_("customer code"), max_length=40, null=True, blank=True, unique=True,
                            help_text=_("The company's own code for this customer (e.g. from the ERP)."))
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True, db_index=True)
    uscc_checksum_ok = models.BooleanField(_("USCC check character valid"), default=True, editable=False)
    uscc_override_reason = models.TextField(_("USCC override reason"), blank=True)
    uscc_override_scan = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+", verbose_name=_("licence scan for the override"))
    legal_representative = models.CharField(_("legal representative"), max_length=50, blank=True)
    business_scope = models.TextField(_("business scope"), blank=True)

    kind = models.CharField(_("type"), max_length=32, choices=InstitutionKind.choices, db_index=True)
    hospital_grade = models.CharField(_("hospital grade"), max_length=8, choices=HospitalGrade.choices, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=InstitutionStatus.choices,
                              default=InstitutionStatus.PROSPECT, db_index=True)
    review_status = models.CharField(_("review"), max_length=16, choices=ReviewStatus.choices,
                                     default=ReviewStatus.APPROVED, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent institution"))
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("district"))
    # Denormalised from division so region scope is one indexed filter.
    province_code = models.CharField(_("province"), max_length=6, editable=False, db_index=True)
    city_code = models.CharField(_("city"), max_length=6, editable=False, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = PhoneField(_("phone"), blank=True)

    # Size and relationship
    bed_count = models.PositiveIntegerField(_("beds"), null=True, blank=True)
    annual_outpatient_visits = models.PositiveIntegerField(_("outpatient visits per year"), null=True, blank=True)
    source_channel = models.CharField(_("source channel"), max_length=16, choices=SourceChannel.choices,
                                      blank=True)
    first_cooperation_date = models.DateField(_("first cooperation"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner rep"))
    academic_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("academic rep"))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("team"))
    tags = models.ManyToManyField(Tag, blank=True, related_name="institutions", verbose_name=_("tags"))

    # Purchase profile (seed 000 二.1, seed 003 二)
    categories_needed = models.CharField(_("categories needed"), max_length=300, blank=True)
    purchase_frequency = models.CharField(_("purchase frequency"), max_length=16,
                                          choices=PurchaseFrequency.choices, blank=True)
    purchase_channels = models.JSONField(_("purchase channels"), default=list, blank=True)
    product_awareness = models.CharField(_("awareness and use of our products"), max_length=16,
                                         choices=ProductAwareness.choices, blank=True)
    decision_process = models.TextField(_("decision process"), blank=True)
    annual_budget = models.DecimalField(_("annual drug budget (CNY)"), max_digits=14, decimal_places=2,
                                        null=True, blank=True)
    annual_category_purchases = models.DecimalField(
        _("annual purchases in our categories (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("From all suppliers; grading uses it for our share of wallet."))

    # Derived: GSP qualification (services.refresh_qualification keeps it current)
    qualification_status = models.CharField(_("qualification"), max_length=16,
                                            choices=QualificationStatus.choices,
                                            default=QualificationStatus.MISSING, db_index=True, editable=False)
    qualification_until = models.DateField(_("qualified until"), null=True, blank=True, editable=False)

    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    editable=False, verbose_name=_("merged into"))
    search_key = models.TextField(editable=False, blank=True, default="")

    objects = InstitutionQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "province_code", "city_code", "qualification_status",
                        "qualification_until", "merged_into", "search_key", "uscc_checksum_ok", "review_status")
    #: columns the system computes (``QuerySet.update_derived``); not audited, recomputable
    derived_fields = ("qualification_status", "qualification_until", "search_key")
    #: fields a rep changes only through a change request approved by the steward (seed 003 二.3)
    locked_fields = ("name", "uscc", "address", "division", "legal_representative", "business_scope")

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["-id"]
        permissions = [
            ("export_institution", _("Can export institutions")),
            ("steward_institution", _("Can approve customer data, merge and override checks")),
            ("import_institution", _("Can import customer data")),
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="institution_owner_idx"),
            models.Index(fields=["academic_owner", "-id"], name="institution_academic_idx"),
            models.Index(fields=["team", "-id"], name="institution_team_idx"),
            models.Index(fields=["city_code", "name"], name="institution_city_name_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["uscc"], condition=~Q(uscc="") & Q(merged_into__isnull=True),
                                    name="institution_uscc_unique",
                                    violation_error_message=_("Another institution already has this USCC.")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:institution_detail", args=[self.pk])

    @property
    def tenure_years(self) -> float | None:
        """Years since the first cooperation (grading's tenure dimension), or None when unknown."""
        if not self.first_cooperation_date:
            return None
        from pharmacrm.core.policy import today

        return round(max((today() - self.first_cooperation_date).days, 0) / 365.25, 1)

    @property
    def is_hospital(self) -> bool:
        return self.kind in HOSPITAL_KINDS

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.division_id:
            self.province_code = self.division_id[:2] + "0000"
            self.city_code = self.division_id[:4] + "00"
        if self.hospital_grade and self.kind not in HOSPITAL_KINDS:
            self.hospital_grade = ""
        if not self.is_hospital and self.kind != InstitutionKind.DEPARTMENT:
            self.bed_count = self.bed_count if self.kind == InstitutionKind.CLINIC else None
        if self.parent_id:
            if self.pk and self.parent_id == self.pk:
                errors.setdefault("parent", []).append(_("An institution cannot be its own parent."))
            else:
                parent = Institution.objects.filter(pk=self.parent_id).values_list("kind", "parent_id").first()
                allowed = PARENT_KINDS.get(self.kind, frozenset())
                if parent and parent[0] not in allowed:
                    errors.setdefault("parent", []).append(
                        _("A %(kind)s cannot belong to a %(parent)s.") % {
                            "kind": InstitutionKind(self.kind).label,
                            "parent": InstitutionKind(parent[0]).label})
                elif self.pk and self._creates_cycle():
                    errors.setdefault("parent", []).append(_("That parent would create a cycle."))
        elif self.kind in (InstitutionKind.CHAIN_STORE, InstitutionKind.DEPARTMENT):
            errors.setdefault("parent", []).append(
                _("A chain store belongs to a chain headquarters and a department to a hospital: choose the parent."))
        self.aliases = [alias.strip() for alias in (self.aliases or []) if str(alias).strip()][:20]
        if errors:
            raise ValidationError(errors)

    def _creates_cycle(self) -> bool:
        seen, node = {self.pk}, self.parent_id
        while node is not None:
            if node in seen:
                return True
            seen.add(node)
            node = Institution.objects.filter(pk=node).values_list("parent_id", flat=True).first()
        return False


class ContactQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A contact is visible to whoever sees their main institution or one where they work now
        (a current affiliation: the professor who also sits in a rep's county hospital on Tuesdays)."""
        ids = visible_institution_ids(user)
        if ids is None:
            return self
        main = Contact._base_manager.filter(institution_id__in=ids).order_by().values("pk")
        working = Affiliation.objects.current().filter(institution_id__in=ids).order_by().values("contact_id")
        return self.filter(pk__in=main.union(working, all=True))

    def working_at(self, institution: Any) -> Self:
        """Contacts whose main institution this is, and those with a current affiliation here."""
        return self.filter(Q(institution=institution)
                           | Q(pk__in=Affiliation.objects.current().filter(institution=institution).values("contact_id")))


class Contact(BaseModel):
    """A doctor, pharmacist, purchaser or other staff member; ``institution`` is where they mainly work."""

    class Gender(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        UNKNOWN = "", _("Unknown")

    name = models.CharField(_("name"), max_length=50, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="contacts",
                                    verbose_name=_("institution"))
    department = models.CharField(_("department"), max_length=50, blank=True)
    title = models.CharField(_("title"), max_length=32, choices=ContactTitle.choices, blank=True)
    specialty = models.CharField(_("specialty"), max_length=100, blank=True)
    decision_role = models.CharField(_("role in decisions"), max_length=16, choices=DecisionRole.choices,
                                     blank=True)
    influence_level = models.CharField(_("academic influence"), max_length=16, choices=InfluenceLevel.choices,
                                       blank=True)
    is_key_contact = models.BooleanField(_("key contact"), default=False)
    # Personal data (PIPL): masked for roles without the right, reveals audited
    # mobile and resident ID are sealed at rest (AES-GCM, core.crypto); mobile_index finds a contact by number
    mobile = SealedPhoneField(_("mobile"), kind=MOBILE, blank=True)
    office_phone = PhoneField(_("office phone"), kind=LANDLINE, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=50, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    birthday_calendar = models.CharField(_("birthday calendar"), max_length=8, choices=BirthdayCalendar.choices,
                                         default=BirthdayCalendar.SOLAR)
    id_number = SealedCharField(_("resident ID number"), max_length=18, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    #: derived: some consent of this contact was withdrawn (shown wherever the contact appears)
    consent_withdrawn = models.BooleanField(_("consent withdrawn"), default=False, editable=False)
    search_key = models.TextField(editable=False, blank=True, default="")
    mobile_index = BlindIndexField(source="mobile")
    #: processing restricted (PIPL Art.47): the subject asked for deletion but a GxP record must keep them;
    #: their personal data is shown to quality assurance only
    pi_restricted = models.BooleanField(_("personal data restricted"), default=False, editable=False)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "consent_withdrawn", "search_key", "mobile_index",
                        "pi_restricted", "anonymised_at")
    derived_fields = ("consent_withdrawn", "search_key", "mobile_index")
    #: personal fields masked for roles without the right (PIPL; DOMAIN.md 2.4)
    personal_fields = ("mobile", "office_phone", "email", "wechat_id", "birthday", "id_number")
    #: every field that identifies or describes the person (the privacy inventory, ``privacy.inventory``):
    #: what an access request copies out and what a deletion anonymises
    subject_fields = ("name", "gender", "department", "title", "specialty", *personal_fields, "birthday_calendar",
                      "notes")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]
        permissions = [("view_contact_personal_data", _("Can reveal contacts' personal data"))]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:contact_detail", args=[self.pk])

    @property
    def masked_mobile(self) -> str:
        from pharmacrm.core.masking import mask_phone

        return mask_phone(self.mobile) if self.mobile else ""

    def clean(self) -> None:
        if self.id_number:
            from pharmacrm.core.validators import normalize_resident_id

            try:
                self.id_number = normalize_resident_id(self.id_number)
            except ValidationError as exc:
                raise ValidationError({"id_number": exc.messages}) from exc


class AffiliationQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """An affiliation is visible with its contact."""
        return self.filter(contact__in=Contact.objects.visible_to(user).values("pk"))

    def current(self) -> Self:
        """Not ended (an end date today still counts)."""
        from pharmacrm.core.policy import today

        return self.filter(Q(end_date__isnull=True) | Q(end_date__gte=today()))


class Affiliation(BaseModel):
    """Where a contact works or worked (a doctor may practise at several institutions)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="affiliations",
                                verbose_name=_("contact"))
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="affiliations",
                                    verbose_name=_("institution"))
    department = models.CharField(_("department"), max_length=50, blank=True)
    title = models.CharField(_("title"), max_length=32, choices=ContactTitle.choices, blank=True)
    start_date = models.DateField(_("from"), null=True, blank=True)
    end_date = models.DateField(_("until"), null=True, blank=True)

    objects = AffiliationQuerySet.as_manager()

    class Meta:
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.institution}"

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date is before the start date.")})

    @property
    def is_current(self) -> bool:
        from pharmacrm.core.policy import today

        return self.end_date is None or self.end_date >= today()


class ConsentQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(contact__in=Contact.objects.visible_to(user).values("pk"))


class Consent(BaseModel):
    """A contact's consent to be contacted on a channel for a purpose (PIPL 第十四条), until withdrawn."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents",
                                verbose_name=_("contact"))
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=ConsentPurpose.choices)
    granted_on = models.DateField(_("granted on"))
    scope = models.CharField(_("scope"), max_length=300, blank=True,
                             help_text=_("What the contact agreed to, in their words or the form's."))
    evidence = models.CharField(_("evidence"), max_length=300,
                                help_text=_("Where the proof is: signed form number, recording, message…"))
    evidence_file = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", verbose_name=_("evidence file"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawal_note = models.CharField(_("withdrawal note"), max_length=300, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} / {self.get_purpose_display()}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None

    def clean(self) -> None:
        if self.withdrawn_on and self.granted_on and self.withdrawn_on < self.granted_on:
            raise ValidationError({"withdrawn_on": _("Consent cannot be withdrawn before it was given.")})


class LicenceQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        return self.filter(institution__in=Institution.objects.visible_to(user).values("pk"))

    def in_force(self, on: datetime.date) -> Self:
        """Approved and valid on the day (from ≤ day ≤ to and verification not overdue)."""
        return self.filter(review_status=ReviewStatus.APPROVED).filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=on),
            Q(valid_to__isnull=True) | Q(valid_to__gte=on),
            Q(next_verification_on__isnull=True) | Q(next_verification_on__gte=on),
        )


class Licence(BaseModel):
    """One document of the buyer's qualification file (首营资料, GSP 第八十九至九十二条)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="licences",
                                    verbose_name=_("institution"))
    kind = models.CharField(_("type"), max_length=32, choices=LicenceKind.choices)
    number = models.CharField(_("number"), max_length=60)
    issuer = models.CharField(_("issued by"), max_length=100, blank=True)
    scope = models.TextField(_("scope"), blank=True, help_text=_("The scope as printed on the licence."))
    categories = models.JSONField(_("drug categories covered"), default=list, blank=True)
    purchaser_name = models.CharField(_("purchaser named"), max_length=50, blank=True,
                                      help_text=_("For a power of attorney: the person authorised to buy."))
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    next_verification_on = models.DateField(_("next verification"), null=True, blank=True,
                                            help_text=_("For licences verified periodically (校验) instead of expiring."))
    scan = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("scan"))
    review_status = models.CharField(_("review"), max_length=16, choices=ReviewStatus.choices,
                                     default=ReviewStatus.PENDING, db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("reviewed by"), editable=False)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    review_comment = models.CharField(_("review comment"), max_length=300, blank=True)
    #: the last expiry alert sent (days before ``alerted_for``), so the daily job alerts once per step
    alerted_days = models.SmallIntegerField(null=True, blank=True, editable=False)
    alerted_for = models.DateField(null=True, blank=True, editable=False)

    objects = LicenceQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "review_status", "reviewed_by", "reviewed_at", "alerted_days",
                        "alerted_for")
    derived_fields = ("alerted_days", "alerted_for")

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["institution_id", "kind", "-valid_to"]
        indexes = [
            models.Index(fields=["valid_to"], name="licence_valid_to_idx"),
            models.Index(fields=["next_verification_on"], name="licence_verification_idx"),
        ]
        permissions = [("review_licence", _("Can review licences"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("customers:licence_detail", args=[self.pk])

    @property
    def ends_on(self) -> datetime.date | None:
        """The day after which the licence no longer counts: expiry or the verification deadline."""
        days = [day for day in (self.valid_to, self.next_verification_on) if day]
        return min(days) if days else None

    def clean(self) -> None:
        from pharmacrm.customers.choices import ProductCategory

        errors: dict[str, list[str]] = {}
        self.number = (self.number or "").strip()
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = [_("The end of validity is before its start.")]
        if self.kind == LicenceKind.PURCHASE_AUTHORIZATION:
            if not self.purchaser_name.strip():
                errors["purchaser_name"] = [_("A power of attorney names the purchaser.")]
            if not self.valid_to:
                errors["valid_to"] = [_("A power of attorney states its period: enter the end date.")]
        unknown = [code for code in (self.categories or []) if code not in ProductCategory.values]
        if unknown:
            errors["categories"] = [_("Unknown drug categories: %(codes)s") % {"codes": ", ".join(map(str, unknown))}]
        if errors:
            raise ValidationError(errors)


class ChangeRequestQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """The requester's own requests, and those on institutions the user can see."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(Q(requested_by=user) | Q(institution__in=Institution.objects.visible_to(user).values("pk")))

    def overdue(self, on: datetime.date) -> Self:
        return self.filter(status=ReviewStatus.PENDING, due_on__lt=on)


class ChangeRequest(BaseModel):
    """A rep's change to locked master fields, waiting for the steward (seed 003 二.3)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="change_requests",
                                    verbose_name=_("institution"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    changes = models.JSONField(_("changes"), help_text=_("field → [current value, proposed value]"))
    reason = models.TextField(_("reason"))
    is_major = models.BooleanField(_("major change"), default=False)
    due_on = models.DateField(_("handle by"))
    status = models.CharField(_("status"), max_length=16, choices=ReviewStatus.choices,
                              default=ReviewStatus.PENDING, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("comment"), blank=True)

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-id"]

    def __str__(self) -> str:
        return _("Change to %(institution)s") % {"institution": self.institution}

    def get_absolute_url(self) -> str:
        return reverse("customers:changerequest_detail", args=[self.pk])
