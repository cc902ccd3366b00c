from django.db import models
from django.utils.translation import gettext_lazy as _


class InstitutionKind(models.TextChoices):
    PUBLIC_HOSPITAL = "public_hospital", _("Public hospital")
    PRIVATE_HOSPITAL = "private_hospital", _("Private hospital")
    COMMUNITY_CENTER = "community_center", _("Community health centre")
    TOWNSHIP_HOSPITAL = "township_hospital", _("Township health centre")
    VILLAGE_CLINIC = "village_clinic", _("Village clinic")
    CLINIC = "clinic", _("Clinic / outpatient department")
    CHAIN_HQ = "chain_hq", _("Pharmacy chain headquarters")
    CHAIN_STORE = "chain_store", _("Chain store")
    PHARMACY = "pharmacy", _("Single pharmacy")
    DISTRIBUTOR = "distributor", _("Distributor")
    OTHER = "other", _("Other")


class HospitalGrade(models.TextChoices):
    GRADE_3A = "3A", _("Grade III-A")
    GRADE_3B = "3B", _("Grade III-B")
    GRADE_3 = "3", _("Grade III")
    GRADE_2A = "2A", _("Grade II-A")
    GRADE_2B = "2B", _("Grade II-B")
    GRADE_2 = "2", _("Grade II")
    GRADE_1 = "1", _("Grade I")
    UNGRADED = "none", _("Ungraded")


class InstitutionStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Cooperating")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


class ContactTitle(models.TextChoices):
    CHIEF_PHYSICIAN = "chief_physician", _("Chief physician")
    ASSOCIATE_CHIEF_PHYSICIAN = "associate_chief_physician", _("Associate chief physician")
    ATTENDING_PHYSICIAN = "attending_physician", _("Attending physician")
    RESIDENT = "resident", _("Resident physician")
    CHIEF_PHARMACIST = "chief_pharmacist", _("Chief pharmacist")
    ASSOCIATE_CHIEF_PHARMACIST = "associate_chief_pharmacist", _("Associate chief pharmacist")
    PHARMACIST = "pharmacist", _("Pharmacist")
    PURCHASING = "purchasing", _("Purchasing staff")
    OTHER = "other", _("Other")
