"""Filters for the people directory (UI and API share them)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.filters import StyledFilterSet
from pharmacrm.org.models import Team, User
from pharmacrm.org.roles import Role


class UserFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search", max_length=100)
    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all(), method="in_team")
    status = django_filters.ChoiceFilter(label=_("Status"), method="by_status",
                                         choices=[("active", _("Active")), ("inactive", _("Deactivated"))])

    class Meta:
        model = User
        fields = ["q", "role", "team", "status"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(username__istartswith=value) | Q(full_name__startswith=value))

    def in_team(self, queryset: QuerySet, name: str, value: Team | None) -> QuerySet:
        """Members of the team and of every team under it."""
        return queryset.filter(team__path__startswith=value.path) if value else queryset

    def by_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(is_active=value == "active") if value else queryset
