"""The scope resolver: which rows a user may see, decided in one place.

``scope_of(user)`` turns role, team and territories into a ``Scope``;
querysets turn a ``Scope`` into one indexed filter with ``scope_filter`` (an OR of
column conditions) or, for large tables listed newest first, ``scope_ids`` (the same
conditions as a union of ids).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from pharmacrm.org.roles import AUDIT_READER_ROLES, ROLE_SCOPE, UNMASKED_PERSONAL_DATA_ROLES, ScopeLevel


@dataclass(frozen=True)
class Scope:
    level: str
    user_id: int | None = None
    team_ids: tuple[int, ...] = ()
    province_codes: tuple[str, ...] = ()
    city_codes: tuple[str, ...] = ()
    district_codes: tuple[str, ...] = ()
    member_ids: tuple[int, ...] = field(default=())

    @property
    def everything(self) -> bool:
        return self.level == ScopeLevel.ALL

    @property
    def nothing(self) -> bool:
        return self.level == ScopeLevel.NONE


NO_SCOPE = Scope(ScopeLevel.NONE)


def scope_of(user: Any) -> Scope:
    """Resolve (and cache on the user object) the user's row scope."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_pharmacrm_scope", None)
    if cached is not None:
        return cached
    scope = _resolve(user)
    user._pharmacrm_scope = scope
    return scope


def _resolve(user: Any) -> Scope:
    from pharmacrm.org.models import Division, Team, User

    level = ROLE_SCOPE.get(user.role, ScopeLevel.NONE)
    if user.is_superuser:
        level = ScopeLevel.ALL
    if level in (ScopeLevel.ALL, ScopeLevel.NONE):
        return Scope(level, user_id=user.pk)
    if level == ScopeLevel.OWN:
        return Scope(level, user_id=user.pk)
    if level == ScopeLevel.TEAM:
        teams = [user.team] if user.team_id else []
        teams += list(user.managed_teams.all())
        team_ids: set[int] = set()
        for team in teams:
            team_ids.update(Team.objects.subtree(team).values_list("pk", flat=True))
        members = User.objects.filter(team_id__in=team_ids).values_list("pk", flat=True)
        return Scope(level, user_id=user.pk, team_ids=tuple(sorted(team_ids)), member_ids=tuple(members))
    # Region: the user's territories at whatever level they were assigned.
    codes = list(Division.objects.filter(pk__in=user.territories.values("pk")).values_list("code", "level"))
    return Scope(
        level,
        user_id=user.pk,
        province_codes=tuple(code for code, lvl in codes if lvl == "province"),
        city_codes=tuple(code for code, lvl in codes if lvl == "city"),
        district_codes=tuple(code for code, lvl in codes if lvl == "district"),
    )


def scope_conditions(scope: Scope, *, owner: str | tuple[str, ...], team: str | None = None,
                     province: str | None = None, city: str | None = None,
                     district: str | None = None) -> list[Q] | None:
    """The conditions a row may meet to be in scope, given the names of its owner/team/territory fields.

    Returns None for "everything" and [] for "nothing"; a row is in scope when it meets
    any one of them. Owner always sees their own rows. A record with several owners (a
    commercial and an academic rep covering the same hospital) names each owner field;
    any of them makes the row "own". Each condition is one indexed column filter.
    """
    if scope.everything:
        return None
    if scope.nothing or scope.user_id is None:
        return []
    owners = (owner,) if isinstance(owner, str) else owner
    conditions = [Q(**{name: scope.user_id}) for name in owners]
    if scope.level == ScopeLevel.TEAM:
        if team and scope.team_ids:
            conditions.append(Q(**{f"{team}__in": scope.team_ids}))
        if scope.member_ids:
            conditions += [Q(**{f"{name}__in": scope.member_ids}) for name in owners]
    elif scope.level == ScopeLevel.REGION:
        if province and scope.province_codes:
            conditions.append(Q(**{f"{province}__in": scope.province_codes}))
        if city and scope.city_codes:
            conditions.append(Q(**{f"{city}__in": scope.city_codes}))
        if district and scope.district_codes:
            conditions.append(Q(**{f"{district}__in": scope.district_codes}))
    return conditions


def scope_filter(scope: Scope, *, owner: str | tuple[str, ...], team: str | None = None,
                 province: str | None = None, city: str | None = None, district: str | None = None) -> Q | None:
    """The Q a scoped model applies: the ``scope_conditions`` OR-ed; None for "everything"."""
    conditions = scope_conditions(scope, owner=owner, team=team, province=province, city=city, district=district)
    if conditions is None:
        return None
    return functools.reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


def scope_ids(scope: Scope, rows: QuerySet, *, owner: str | tuple[str, ...], team: str | None = None,
              province: str | None = None, city: str | None = None, district: str | None = None) -> QuerySet | None:
    """The primary keys of ``rows`` in scope, as one ``UNION ALL`` of a SELECT per condition; None for "everything".

    ``filter(pk__in=scope_ids(…))`` selects the same rows as ``filter(scope_filter(…))``, but
    each branch reads only its own (field, id) index and the outer query can walk the ids
    newest first and stop at the page size. With the OR form SQLite merges the indexes and
    sorts every visible row before LIMIT, so a rep's first page cost grew with the book
    (bench "rep list page"); PostgreSQL plans either form as a union of index scans.
    """
    conditions = scope_conditions(scope, owner=owner, team=team, province=province, city=city, district=district)
    if conditions is None:
        return None
    if not conditions:
        return rows.none().values("pk")
    branches = [rows.filter(condition).order_by().values("pk") for condition in conditions]
    return branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]


def can_read_audit_trail(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in AUDIT_READER_ROLES))


def can_see_unmasked_personal_data(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and (user.is_superuser or user.role in UNMASKED_PERSONAL_DATA_ROLES)
    )


def authorize(user: Any, permission: str) -> None:
    """Raise PermissionDenied unless the user's role grants the permission."""
    from django.core.exceptions import PermissionDenied

    if not (getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(permission)):
        raise PermissionDenied(permission)
