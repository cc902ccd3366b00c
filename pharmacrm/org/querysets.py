"""Rows that belong to a user (the rep holding stock, the rep who made a visit): who else sees them.

Samples, visits, communications and follow-ups are scoped by the person they belong to, not by the customer:
a rep sees their own, a manager their team's, a regional manager their region's reps', head office all.
"""

from __future__ import annotations

from typing import Any, Self

from django.db.models import Q

from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.org.roles import ScopeLevel
from pharmacrm.org.scope import scope_of


def holders_in_scope(user: Any, fields: tuple[str, ...] = ("holder",)) -> Q | None:
    """Which rows of a holder-owned model the user sees, as a Q over the given user fields; None = all.

    A rep (own scope) sees what they hold; a manager their team's members; a regional manager the reps
    whose territory lies in their region (a territory is a province, a city or a district, so its code or
    its parent's or grandparent's code is one of the region's); head office everything.
    """
    scope = scope_of(user)
    if scope.everything:
        return None
    if scope.nothing or scope.user_id is None:
        return Q(pk__in=[])
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}_id": scope.user_id})
    if scope.level == ScopeLevel.TEAM and scope.member_ids:
        for field in fields:
            condition |= Q(**{f"{field}_id__in": scope.member_ids})
    elif scope.level == ScopeLevel.REGION:
        from pharmacrm.org.models import User

        codes = (*scope.province_codes, *scope.city_codes, *scope.district_codes)
        if codes:
            members = User.objects.filter(
                Q(territories__code__in=codes) | Q(territories__parent_id__in=codes)
                | Q(territories__parent__parent_id__in=codes)).order_by().values("pk")
            for field in fields:
                condition |= Q(**{f"{field}_id__in": members})
    return condition


class HolderScopedQuerySet(ScopedQuerySet):
    """Rows belong to the users named in ``holder_fields`` (the rep holding stock, both reps of a transfer, the
    rep who made a visit); reading needs the model's view right."""

    scoped = True
    holder_fields: tuple[str, ...] = ("holder",)

    def visible_to(self, user: Any) -> Self:
        meta = self.model._meta
        if not getattr(user, "is_authenticated", False) or not user.has_perm(
                f"{meta.app_label}.view_{meta.model_name}"):
            return self.none()
        condition = holders_in_scope(user, self.holder_fields)
        return self if condition is None else self.filter(condition)


def users_in_scope(user: Any) -> Any:
    """The people whose records the user sees (themself; their team; their region's reps; everyone)."""
    from pharmacrm.org.models import User

    scope = scope_of(user)
    if scope.everything:
        return User.objects.all()
    if scope.nothing or scope.user_id is None:
        return User.objects.none()
    condition = Q(pk=scope.user_id)
    if scope.level == ScopeLevel.TEAM and scope.member_ids:
        condition |= Q(pk__in=scope.member_ids)
    elif scope.level == ScopeLevel.REGION:
        codes = (*scope.province_codes, *scope.city_codes, *scope.district_codes)
        if codes:
            condition |= (Q(territories__code__in=codes) | Q(territories__parent_id__in=codes)
                          | Q(territories__parent__parent_id__in=codes))
    return User.objects.filter(pk__in=User.objects.filter(condition).values("pk"))
