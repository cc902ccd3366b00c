from __future__ import annotations

from rest_framework import serializers

from pharmacrm.customers.choices import HospitalGrade, InstitutionKind, InstitutionStatus
from pharmacrm.customers.models import Contact, Institution


class InstitutionSerializer(serializers.ModelSerializer):
    """Output shape of an institution."""

    division_name = serializers.CharField(source="division.full_name", read_only=True)
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)

    class Meta:
        model = Institution
        fields = ["id", "name", "short_name", "kind", "hospital_grade", "status", "division", "division_name",
                  "province_code", "city_code", "address", "phone", "owner", "owner_name", "team", "version",
                  "created_at", "updated_at"]
        read_only_fields = fields


class InstitutionUpdateSerializer(serializers.Serializer):
    """Input shape of an edit: only the fields a user may change; anything else is ignored."""

    name = serializers.CharField(max_length=200, required=False)
    short_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=InstitutionKind.choices, required=False)
    hospital_grade = serializers.ChoiceField(choices=HospitalGrade.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=InstitutionStatus.choices, required=False)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, min_value=1,
                                       help_text="The version you loaded (or send If-Match); stale → 412")


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "gender", "institution", "department", "title", "version"]
        read_only_fields = fields
