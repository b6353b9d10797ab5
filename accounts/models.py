"""Authorities, their LOS units, users, role profiles and grants (DOMAIN.md section 6)."""

from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.functions import Function
from registry.identifiers import IdKind


class Authority(models.Model):
    """A paying public authority (*myndighed*)."""

    class Kind(models.TextChoices):
        STATE = "state", _("State agency")
        REGION = "region", _("Region")
        MUNICIPALITY = "municipality", _("Municipality")

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    cvr = models.CharField(_("CVR number"), max_length=8, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class LosUnit(models.Model):
    """A paying unit of an authority; units form a tree of any depth.

    ``path`` is the materialised path of ids from the root (``/1/7/42/``), so "this unit and
    everything below it" is one indexed prefix match. Moving or closing a unit is tracked by
    pghistory, so the tree as it was on any date can be told.
    """

    authority = models.ForeignKey(
        Authority, verbose_name=_("authority"), on_delete=models.PROTECT, related_name="units"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    code = models.CharField(_("LOS code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    path = models.CharField(_("path"), max_length=2000, editable=False, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("LOS unit")
        verbose_name_plural = _("LOS units")
        permissions = [(function.value, function.label) for function in Function]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "code"], name="losunit_code_per_authority"
            ),
        ]
        indexes = [
            models.Index(fields=["path"], name="losunit_path", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class UserManager(DjangoUserManager["User"]):
    """Staff logins (``createsuperuser``, ``is_staff=True``) are operators unless told otherwise.

    Only operators may be staff or superusers (a check constraint), so a superuser created
    without a kind would otherwise be refused as an employee without an authority.
    """

    def create_user(
        self,
        username: str,
        email: str | None = None,
        password: str | None = None,
        **extra_fields: object,
    ) -> "User":
        if extra_fields.get("is_staff") or extra_fields.get("is_superuser"):
            extra_fields.setdefault("kind", User.Kind.OPERATOR)
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(
        self,
        username: str,
        email: str | None = None,
        password: str | None = None,
        **extra_fields: object,
    ) -> "User":
        extra_fields.setdefault("kind", User.Kind.OPERATOR)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Anyone who logs in: operators, authority employees, citizens and businesses.

    Operators (staff of the NemKonto service) work in the Django admin and hold every model
    permission there; nobody else may be staff or superuser (check constraint below).
    """

    class Kind(models.TextChoices):
        OPERATOR = "operator", _("Operator (NemKonto service)")
        EMPLOYEE = "employee", _("Authority employee")
        CITIZEN = "citizen", _("Citizen")
        BUSINESS = "business", _("Business")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.EMPLOYEE)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    # The recipient a citizen or business login acts as (from MitID); empty for others.
    recipient_type = models.CharField(
        _("recipient ID type"), max_length=3, choices=IdKind.choices, blank=True
    )
    recipient_id = models.CharField(_("recipient ID"), max_length=10, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    class Meta(AbstractUser.Meta):
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="employee") | Q(authority__isnull=False),
                name="user_employee_has_authority",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["employee", "operator"]) | Q(authority__isnull=True),
                name="user_only_employees_and_operators_have_authority",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["citizen", "business"])
                | (~Q(recipient_type="") & ~Q(recipient_id="")),
                name="user_recipient_login_has_recipient",
            ),
            models.UniqueConstraint(
                fields=["recipient_type", "recipient_id"],
                condition=~Q(recipient_id=""),
                name="user_one_login_per_recipient",
            ),
            models.CheckConstraint(
                condition=Q(kind="operator") | Q(is_staff=False, is_superuser=False),
                name="user_only_operators_are_staff",
            ),
        ]

    @property
    def is_operator(self) -> bool:
        """Staff of the NemKonto service (or a superuser), and active."""
        return self.is_active and (self.kind == self.Kind.OPERATOR or self.is_superuser)

    def has_perm(self, perm: str, obj: models.Model | None = None) -> bool:
        # Operators may do everything in the admin (model permissions); permissions on one
        # object (guardian, LOS units) are never implied.
        if obj is None and self.is_operator and self.is_staff:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_operator and self.is_staff:
            return True
        return super().has_module_perms(app_label)


class RoleProfile(models.Model):
    """A named set of functions (*rolleprofil*), granted to users per LOS unit."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    functions = models.ManyToManyField(
        Permission, verbose_name=_("functions"), related_name="role_profiles"
    )
    is_standard = models.BooleanField(_("standard profile"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role profile")
        verbose_name_plural = _("role profiles")

    def __str__(self) -> str:
        return self.name


class Grant(models.Model):
    """One role profile for one user on one LOS unit (and its sub-units).

    The grant is the record of what was given; the permissions it implies are kept in the
    guardian table ``LosUnitUserObjectPermission``, which the scope selectors read.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="grants",
    )
    role_profile = models.ForeignKey(
        RoleProfile, verbose_name=_("role profile"), on_delete=models.PROTECT, related_name="grants"
    )
    unit = models.ForeignKey(
        LosUnit, verbose_name=_("LOS unit"), on_delete=models.PROTECT, related_name="grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role_profile", "unit"], name="grant_unique_per_user_profile_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role_profile} · {self.unit}"


class LosUnitUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct-FK table: a user's function on a LOS unit (never per payment)."""

    content_object = models.ForeignKey(LosUnit, on_delete=models.CASCADE)


class LosUnitGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(LosUnit, on_delete=models.CASCADE)


class AuditEvent(models.Model):
    """Append-only audit trail: who did what, when, to which object (written in the same
    transaction as the change it records)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=200)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("target type"), max_length=60)
    target_id = models.CharField(_("target id"), max_length=60)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    data = models.JSONField(_("details"), default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]
        triggers = [
            pgtrigger.Protect(
                name="audit_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class DataChange(models.Model):
    """One SQL statement that changed a tracked table, written by a statement-level database
    trigger (accounts/data_changes.py): who, through which channel, from which request or task.

    It covers every writer, bulk statements of the pipeline included, at one row per statement
    (the rows themselves keep their history: account versions, payments' own time columns,
    pghistory events). Append-only, like the audit trail.
    """

    at = models.DateTimeField(_("time"), db_index=True)
    table_name = models.CharField(_("table"), max_length=63)
    operation = models.CharField(_("operation"), max_length=8)
    transaction_id = models.BigIntegerField(_("transaction"))
    actor_label = models.CharField(_("who"), max_length=200)
    channel = models.CharField(_("channel"), max_length=20)
    source = models.CharField(_("request or task"), max_length=200)
    source_id = models.CharField(_("request or task id"), max_length=64)
    statement = models.TextField(_("statement"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("data change")
        verbose_name_plural = _("data changes")
        indexes = [models.Index(fields=["table_name", "at"], name="data_change_table_time")]
        triggers = [
            pgtrigger.Protect(
                name="data_change_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.operation} {self.table_name}"


class Bank(models.Model):
    """A bank (*pengeinstitut*): an authority's bank, and a reporter of its customers' NemKonti."""

    reg = models.CharField(_("registration number"), max_length=4, unique=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["reg"]
        verbose_name = _("bank")
        verbose_name_plural = _("banks")

    def __str__(self) -> str:
        return f"{self.reg} {self.name}"


class ApiClient(models.Model):
    """An OAuth2 client-credentials client of the REST API, and what it is bound to.

    A payment system's client acts for one authority through that authority's connection
    agreement with the system; an authority's client looks up accounts; a bank's client reports
    its customers' NemKonti and exchanges payment files.
    """

    class Kind(models.TextChoices):
        PAYMENT_SYSTEM = "payment_system", _("Payment system")
        AUTHORITY = "authority", _("Authority")
        BANK = "bank", _("Bank")

    application = models.OneToOneField(
        "oauth2_provider.Application",
        verbose_name=_("OAuth2 application"),
        on_delete=models.CASCADE,
        related_name="api_client",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    payment_system = models.ForeignKey(
        "payments.PaymentSystem",
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    bank = models.ForeignKey(
        Bank,
        verbose_name=_("bank"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated at"), null=True, blank=True)
    # Where batch status changes are POSTed (API.md, Callbacks), and the HMAC key that signs
    # them. The key must be kept in plaintext to sign with; the client is shown it once.
    callback_url = models.URLField(_("callback URL"), max_length=500, blank=True)
    callback_secret = models.CharField(_("callback secret"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="payment_system",
                        authority__isnull=False,
                        payment_system__isnull=False,
                        bank__isnull=True,
                    )
                    | Q(
                        kind="authority",
                        authority__isnull=False,
                        payment_system__isnull=True,
                        bank__isnull=True,
                    )
                    | Q(
                        kind="bank",
                        bank__isnull=False,
                        authority__isnull=True,
                        payment_system__isnull=True,
                    )
                ),
                name="api_client_bound_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.application.name}"


# The onboarding models (connection and user requests) live in their own module; importing them
# here registers them with the app.
from accounts.onboarding import (  # noqa: E402
    ConnectionRequest,
    Coordinator,
    UserRequest,
    UserRequestLine,
)

__all__ = [
    "ApiClient",
    "AuditEvent",
    "Authority",
    "Bank",
    "ConnectionRequest",
    "Coordinator",
    "DataChange",
    "Grant",
    "LosUnit",
    "LosUnitGroupObjectPermission",
    "LosUnitUserObjectPermission",
    "RoleProfile",
    "User",
    "UserManager",
    "UserRequest",
    "UserRequestLine",
]
