"""Terminal customers (institutions) and the people who work there (contacts).

The foundation keeps these minimal — enough to show scoping, audit and the UI
shell on real rows; the customer-master issue extends them.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.customers.choices import ContactTitle, HospitalGrade, InstitutionKind, InstitutionStatus
from pharmacrm.org.models import Division, Team
from pharmacrm.org.scope import scope_filter, scope_of


class InstitutionQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        condition = scope_filter(scope_of(user), owner="owner", team="team", province="province_code",
                                 city="city_code", district="division")
        return self if condition is None else self.filter(condition)


class Institution(BaseModel):
    """A terminal customer: hospital, primary-care institution, clinic, pharmacy or distributor."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    kind = models.CharField(_("type"), max_length=32, choices=InstitutionKind.choices, db_index=True)
    hospital_grade = models.CharField(_("hospital grade"), max_length=8, choices=HospitalGrade.choices, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=InstitutionStatus.choices,
                              default=InstitutionStatus.PROSPECT, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent institution"))
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("district"))
    # Denormalised from division so region scope is one indexed filter.
    province_code = models.CharField(_("province"), max_length=6, editable=False, db_index=True)
    city_code = models.CharField(_("city"), max_length=6, editable=False, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner rep"))
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("team"))

    objects = InstitutionQuerySet.as_manager()
    protected_fields = (*BaseModel.protected_fields, "province_code", "city_code")

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["-id"]
        permissions = [("export_institution", _("Can export institutions"))]
        indexes = [
            models.Index(fields=["owner", "-id"], name="institution_owner_idx"),
            models.Index(fields=["team", "-id"], name="institution_team_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:institution_detail", args=[self.pk])

    def clean(self) -> None:
        if self.division_id:
            self.province_code = self.division_id[:2] + "0000"
            self.city_code = self.division_id[:4] + "00"


class ContactQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """A contact is visible where their institution is."""
        condition = scope_filter(scope_of(user), owner="institution__owner", team="institution__team",
                                 province="institution__province_code", city="institution__city_code",
                                 district="institution__division")
        return self if condition is None else self.filter(condition)


class Contact(BaseModel):
    """A doctor, pharmacist, purchaser or other staff member at an institution."""

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
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:contact_detail", args=[self.pk])
