"""API shapes: read serializers expose what the pages show (personal data masked); input
serializers accept only what a user may change; services validate and save."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from pharmacrm.customers.choices import (
    BirthdayCalendar,
    ContactTitle,
    DecisionRole,
    HospitalGrade,
    InfluenceLevel,
    InstitutionKind,
    InstitutionStatus,
    LicenceKind,
    ProductAwareness,
    ProductCategory,
    PurchaseChannel,
    PurchaseFrequency,
    SourceChannel,
)
from pharmacrm.customers.models import ChangeRequest, Contact, Institution, Licence
from pharmacrm.org.models import Division, User

VERSION_HELP = "The version you loaded (or send If-Match); stale → 412"


class InstitutionSerializer(serializers.ModelSerializer):
    """Output shape of an institution (customer)."""

    division_name = serializers.CharField(source="division.full_name", read_only=True)
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Institution
        fields = ["id", "code", "name", "short_name", "aliases", "uscc", "uscc_checksum_ok", "legal_representative",
                  "business_scope", "kind", "hospital_grade", "status", "review_status", "parent", "division",
                  "division_name", "province_code", "city_code", "address", "phone", "bed_count",
                  "annual_outpatient_visits", "source_channel", "first_cooperation_date", "owner", "owner_name",
                  "academic_owner", "team", "tags", "categories_needed", "purchase_frequency", "purchase_channels",
                  "product_awareness", "decision_process", "annual_budget", "annual_category_purchases",
                  "qualification_status", "qualification_until", "merged_into", "version", "created_at",
                  "updated_at"]
        read_only_fields = fields


class InstitutionInputSerializer(serializers.Serializer):
    """Input shape of a create or an edit; unknown keys are ignored, protected ones cannot be set."""

    code = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    name = serializers.CharField(max_length=200, required=False)
    short_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    aliases = serializers.ListField(child=serializers.CharField(max_length=200), max_length=20, required=False)
    uscc = serializers.CharField(max_length=40, required=False, allow_blank=True)
    legal_representative = serializers.CharField(max_length=50, required=False, allow_blank=True)
    business_scope = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=InstitutionKind.choices, required=False)
    hospital_grade = serializers.ChoiceField(choices=HospitalGrade.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=InstitutionStatus.choices, required=False)
    parent = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), required=False, allow_null=True)
    division = serializers.PrimaryKeyRelatedField(queryset=Division.objects.filter(level="district"), required=False)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    bed_count = serializers.IntegerField(min_value=0, max_value=100000, required=False, allow_null=True)
    annual_outpatient_visits = serializers.IntegerField(min_value=0, max_value=100_000_000, required=False,
                                                        allow_null=True)
    source_channel = serializers.ChoiceField(choices=SourceChannel.choices, required=False, allow_blank=True)
    first_cooperation_date = serializers.DateField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False)
    academic_owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
    categories_needed = serializers.CharField(max_length=300, required=False, allow_blank=True)
    purchase_frequency = serializers.ChoiceField(choices=PurchaseFrequency.choices, required=False, allow_blank=True)
    purchase_channels = serializers.ListField(child=serializers.ChoiceField(choices=PurchaseChannel.choices),
                                              required=False)
    product_awareness = serializers.ChoiceField(choices=ProductAwareness.choices, required=False, allow_blank=True)
    decision_process = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    annual_budget = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    annual_category_purchases = serializers.DecimalField(max_digits=14, decimal_places=2, required=False,
                                                         allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=30), max_length=30, required=False)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                   help_text="Why locked fields change; they become a change request for reps")
    acknowledge_duplicates = serializers.BooleanField(required=False, default=False)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    FORM_ONLY = ("tags", "reason", "acknowledge_duplicates", "version")

    def changes(self) -> dict[str, Any]:
        return {key: value for key, value in self.validated_data.items() if key not in self.FORM_ONLY}


class ContactSerializer(serializers.ModelSerializer):
    """Personal fields are always masked here; ``POST /contacts/{id}/reveal/`` shows them (audited)."""

    mobile = serializers.CharField(source="masked_mobile", read_only=True)
    institution_name = serializers.CharField(source="institution.name", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "gender", "institution", "institution_name", "department", "title", "specialty",
                  "decision_role", "influence_level", "is_key_contact", "mobile", "consent_withdrawn", "version",
                  "created_at", "updated_at"]
        read_only_fields = fields


class ContactInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all(), required=False)
    name = serializers.CharField(max_length=50, required=False)
    gender = serializers.ChoiceField(choices=Contact.Gender.choices, required=False, allow_blank=True)
    department = serializers.CharField(max_length=50, required=False, allow_blank=True)
    title = serializers.ChoiceField(choices=ContactTitle.choices, required=False, allow_blank=True)
    specialty = serializers.CharField(max_length=100, required=False, allow_blank=True)
    decision_role = serializers.ChoiceField(choices=DecisionRole.choices, required=False, allow_blank=True)
    influence_level = serializers.ChoiceField(choices=InfluenceLevel.choices, required=False, allow_blank=True)
    is_key_contact = serializers.BooleanField(required=False)
    mobile = serializers.CharField(max_length=40, required=False, allow_blank=True)
    office_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    wechat_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    birthday_calendar = serializers.ChoiceField(choices=BirthdayCalendar.choices, required=False)
    id_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    sensitive_consent = serializers.CharField(
        max_length=300, required=False, allow_blank=True,
        help_text="Evidence of the person's separate consent to their resident ID (PIPL Art.29)")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)


class LicenceSerializer(serializers.ModelSerializer):
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    ends_on = serializers.DateField(read_only=True)

    class Meta:
        model = Licence
        fields = ["id", "institution", "institution_name", "kind", "number", "issuer", "scope", "categories",
                  "purchaser_name", "valid_from", "valid_to", "next_verification_on", "ends_on", "scan",
                  "review_status", "reviewed_by", "reviewed_at", "review_comment", "version", "created_at",
                  "updated_at"]
        read_only_fields = fields


class LicenceInputSerializer(serializers.Serializer):
    institution = serializers.PrimaryKeyRelatedField(queryset=Institution.objects.all())
    kind = serializers.ChoiceField(choices=LicenceKind.choices)
    number = serializers.CharField(max_length=60)
    issuer = serializers.CharField(max_length=100, required=False, allow_blank=True)
    scope = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    categories = serializers.ListField(child=serializers.ChoiceField(choices=ProductCategory.choices), required=False)
    purchaser_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_to = serializers.DateField(required=False, allow_null=True)
    next_verification_on = serializers.DateField(required=False, allow_null=True)


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ChangeRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = ["id", "institution", "requested_by", "changes", "reason", "is_major", "due_on", "status",
                  "decided_by", "decided_at", "decision_comment", "created_at"]
        read_only_fields = fields
