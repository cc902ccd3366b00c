"""People and their place in the company: users, teams, territories, account requests."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from pharmacrm.core.models import BaseModel
from pharmacrm.core.querysets import ScopedQuerySet
from pharmacrm.core.workflow import StateMachine, Transition
from pharmacrm.org.roles import Role


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District / county")


#: city-level rows that group districts rather than name a city
PLACEHOLDER_NAMES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


class DivisionQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        # Administrative divisions are public reference data.
        return self if getattr(user, "is_authenticated", False) else self.none()


class Division(models.Model):
    """An administrative division of China with its GB/T 2260 code (loaded by ``load_divisions``)."""

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=DivisionLevel.choices, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("administrative division")
        verbose_name_plural = _("administrative divisions")
        ordering = ["code"]

    def __str__(self) -> str:
        # "市辖区" alone is ambiguous in a list: say whose.
        if self.name in PLACEHOLDER_NAMES and self.parent_id:
            return f"{self.parent.name}{self.name}"
        return self.name

    @property
    def full_name(self) -> str:
        names = []
        node: Division | None = self
        while node is not None:
            if node.name not in PLACEHOLDER_NAMES:
                names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str:
        return self.code[:4] + "00"


class TeamQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        # The organisation chart is visible to every signed-in colleague.
        return self if getattr(user, "is_authenticated", False) else self.none()

    def subtree(self, team: Team) -> Self:
        return self.filter(path__startswith=team.path)


class Team(BaseModel):
    """A department or team; ``path`` ("/1/4/") makes subtree queries one indexed filter."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent"))
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_teams", verbose_name=_("manager"))
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class UserQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        """Colleagues are visible by name to everyone signed in; admin pages check permissions."""
        return self if getattr(user, "is_authenticated", False) else self.none()

    def history_visible_to(self, user: Any) -> Self:
        """A user's history holds logins and IP addresses: only people administrators and the user."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self if user.has_perm("org.view_user") else self.filter(pk=user.pk)


class ScopedUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A PharmaCRM user: one role, one team, and territories for region scope."""

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.REP, db_index=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members",
                             verbose_name=_("team"))
    territories = models.ManyToManyField(Division, blank=True, related_name="+", verbose_name=_("territories"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    version = models.PositiveIntegerField(default=1, editable=False)
    #: part of the session hash: raising it ends every session of the user (deactivation; ASVS 7.4.2)
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = ScopedUserManager()

    protected_fields = ("id", "password", "is_superuser", "is_staff", "role", "team", "last_login", "version",
                        "session_generation")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (an HMAC of the password hash), with the session generation: a session opened
        before the generation was raised no longer authenticates, and Django flushes it at its next request —
        also after a reactivation."""
        key_salt = "pharmacrm.org.models.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}:{self.session_generation}", secret=secret,
                           algorithm="sha256").hexdigest()


class AccountRequestQuerySet(ScopedQuerySet):
    scoped = True

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.role in (Role.ADMIN, Role.LEADER):
            return self
        return self.filter(requested_by=user)


class AccountRequest(BaseModel):
    """A manager's request for a new user account, approved by an administrator."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    username = models.CharField(_("username"), max_length=150)
    full_name = models.CharField(_("full name"), max_length=100)
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+", verbose_name=_("team"))
    territories = models.ManyToManyField(Division, blank=True, related_name="+", verbose_name=_("territories"))
    justification = models.TextField(_("justification"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    created_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("created user"))

    objects = AccountRequestQuerySet.as_manager()

    #: decided only through its approval (org.account_requests); not a database field
    workflow = StateMachine("status", [
        Transition("pending", "approved", permission="org.approve_accountrequest"),
        Transition("pending", "rejected", permission="org.approve_accountrequest", reason_required=True),
    ])
    #: set by the approval's outcome, so not part of the signed content (core.approvals)
    signature_exclude = ("created_user",)

    class Meta:
        verbose_name = _("account request")
        verbose_name_plural = _("account requests")
        ordering = ["-id"]
        permissions = [("approve_accountrequest", _("Can approve account requests"))]
        constraints = [
            models.UniqueConstraint(fields=["username"], condition=Q(status="pending"),
                                    name="account_request_pending_username_unique")
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})"

    def get_absolute_url(self) -> str:
        return reverse("org:accountrequest_detail", args=[self.pk])
