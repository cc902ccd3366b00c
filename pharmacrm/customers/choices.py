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
    HOSPITAL_GROUP = "hospital_group", _("Hospital group / medical alliance")
    DEPARTMENT = "department", _("Hospital department")
    OTHER = "other", _("Other")


#: kinds that are hospitals (grade, beds and outpatient volume apply)
HOSPITAL_KINDS = frozenset({InstitutionKind.PUBLIC_HOSPITAL, InstitutionKind.PRIVATE_HOSPITAL,
                            InstitutionKind.COMMUNITY_CENTER, InstitutionKind.TOWNSHIP_HOSPITAL})

#: which parent kinds each child kind may hang under (chain HQ → stores, group → members, hospital → 科室)
PARENT_KINDS: dict[str, frozenset[str]] = {
    InstitutionKind.CHAIN_STORE: frozenset({InstitutionKind.CHAIN_HQ}),
    InstitutionKind.DEPARTMENT: frozenset(HOSPITAL_KINDS),
    InstitutionKind.PUBLIC_HOSPITAL: frozenset({InstitutionKind.HOSPITAL_GROUP}),
    InstitutionKind.PRIVATE_HOSPITAL: frozenset({InstitutionKind.HOSPITAL_GROUP}),
    InstitutionKind.COMMUNITY_CENTER: frozenset({InstitutionKind.HOSPITAL_GROUP, InstitutionKind.PUBLIC_HOSPITAL}),
    InstitutionKind.TOWNSHIP_HOSPITAL: frozenset({InstitutionKind.HOSPITAL_GROUP, InstitutionKind.PUBLIC_HOSPITAL}),
    InstitutionKind.VILLAGE_CLINIC: frozenset({InstitutionKind.TOWNSHIP_HOSPITAL, InstitutionKind.HOSPITAL_GROUP}),
}


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
    PHYSICIAN = "physician", _("Physician")
    CHIEF_PHARMACIST = "chief_pharmacist", _("Chief pharmacist")
    ASSOCIATE_CHIEF_PHARMACIST = "associate_chief_pharmacist", _("Associate chief pharmacist")
    PHARMACIST_IN_CHARGE = "pharmacist_in_charge", _("Pharmacist in charge")
    PHARMACIST = "pharmacist", _("Pharmacist")
    NURSE = "nurse", _("Nurse")
    ADMINISTRATOR = "administrator", _("Hospital administrator")
    PURCHASING = "purchasing", _("Purchasing staff")
    OTHER = "other", _("Other")


class ReviewStatus(models.TextChoices):
    """Steward review of a new institution, a licence or a change request (待审核/已审核/驳回)."""

    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class SourceChannel(models.TextChoices):
    REP_DEVELOPED = "rep", _("Developed by a rep")
    REFERRAL = "referral", _("Referral")
    TENDER = "tender", _("Tender / procurement platform")
    EVENT = "event", _("Conference or exhibition")
    DISTRIBUTOR = "distributor", _("Through a distributor")
    INBOUND = "inbound", _("Inbound enquiry")
    IMPORT = "import", _("Data import")
    OTHER = "other", _("Other")


class PurchaseFrequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")
    IRREGULAR = "irregular", _("Irregular")


class ProductAwareness(models.TextChoices):
    """How far the institution knows and uses our products (seed 000 二.1)."""

    UNAWARE = "unaware", _("Does not know our products")
    AWARE = "aware", _("Knows our products")
    TRIAL = "trial", _("Trying our products")
    REGULAR = "regular", _("Uses our products regularly")


class PurchaseChannel(models.TextChoices):
    DIRECT = "direct", _("Direct from us")
    DISTRIBUTOR = "distributor", _("Through distributors")
    PLATFORM = "platform", _("Provincial procurement platform")
    ONLINE = "online", _("Online / e-commerce")


class ProductCategory(models.TextChoices):
    """Drug categories a buyer's licence scope (经营范围) names; orders check them (GSP 第九十条)."""

    CHEMICAL = "chemical", _("Chemical drugs")
    TCM_PATENT = "tcm_patent", _("Chinese patent medicines")
    TCM_PIECES = "tcm_pieces", _("Prepared Chinese herbal pieces")
    BIOLOGICAL = "biological", _("Biological products")
    IVD = "ivd", _("In-vitro diagnostic reagents")
    NARCOTIC_PSYCHOTROPIC = "narcotic_psychotropic", _("Narcotic and psychotropic drugs")
    TOXIC = "toxic", _("Toxic drugs for medical use")
    PEPTIDE_HORMONE = "peptide_hormone", _("Anabolic agents and peptide hormones")


class LicenceKind(models.TextChoices):
    BUSINESS = "business", _("Business licence")
    DRUG_TRADING = "drug_trading", _("Drug trading licence")
    MEDICAL_INSTITUTION = "medical_institution", _("Medical institution practice licence")
    PURCHASE_AUTHORIZATION = "purchase_authorization", _("Purchaser power of attorney")
    QUALITY_AGREEMENT = "quality_agreement", _("Quality assurance agreement")
    OTHER = "other", _("Other")


class QualificationStatus(models.TextChoices):
    """Derived GSP qualification of a buyer (首营资料), worst first."""

    MISSING = "missing", _("Licence missing")
    EXPIRED = "expired", _("Licence expired")
    PENDING = "pending", _("Licence pending review")
    EXPIRING = "expiring", _("Licence expiring")
    QUALIFIED = "qualified", _("Qualified")


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    PURCHASER = "purchaser", _("Purchaser")


class InfluenceLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCIAL = "provincial", _("Provincial")
    CITY = "city", _("City")
    HOSPITAL = "hospital", _("Within the hospital")
    NONE = "none", _("None known")


class BirthdayCalendar(models.TextChoices):
    SOLAR = "solar", _("Solar (Gregorian)")
    LUNAR = "lunar", _("Lunar")


class ConsentChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Face-to-face visit")
    MAIL = "mail", _("Post")


class ConsentPurpose(models.TextChoices):
    ACADEMIC = "academic", _("Academic and product information")
    SERVICE = "service", _("Customer service and follow-up")
    MARKETING = "marketing", _("Marketing and events")
    SURVEY = "survey", _("Surveys and market research")
    CARE = "care", _("Holiday and birthday greetings")
    #: separate consent to process sensitive personal data (PIPL Art.29): a resident ID number
    SENSITIVE = "sensitive", _("Sensitive personal data (resident ID)")
