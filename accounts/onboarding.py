"""Onboarding an authority (DOMAIN.md section 7): its NemKonto coordinator, connection requests
(*tilslutningsanmodninger*) and user requests, which operators carry out in the admin.

A connection request is what the authority asks for; the connection agreement and the bank
agreement (``payments``) are made from it when an operator approves it
(``accounts.onboarding_services.connection_request_approve``). The module is imported by
``accounts.models``, so it must not import ``payments`` at import time (that app's models import
this app's); the failure choices are read from ``payments`` when Django asks for them.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def failure_choices() -> list[tuple[str, Any]]:
    """The connection agreement's failure choices (return, cheque, error account, waiting)."""
    from payments.models import ConnectionAgreement

    return list(ConnectionAgreement.FailureChoice.choices)


def waiting_fallback_choices() -> list[tuple[str, Any]]:
    """What the waiting account falls back to (return, cheque, error account)."""
    from payments.models import ConnectionAgreement

    return list(ConnectionAgreement.WaitingFallback.choices)


class Coordinator(models.Model):
    """An employee an operator has named the authority's NemKonto coordinator: the contact who
    may request connections for the authority, also before it has a local administrator."""

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="coordinators",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        on_delete=models.CASCADE,
        related_name="coordinator",
        limit_choices_to={"kind": "employee"},
    )
    appointed_at = models.DateTimeField(_("appointed at"), auto_now_add=True)

    class Meta:
        ordering = ["authority", "user"]
        verbose_name = _("NemKonto coordinator")
        verbose_name_plural = _("NemKonto coordinators")

    def __str__(self) -> str:
        return f"{self.user} ({self.authority})"


class DecidedRequest(models.Model):
    """What every request an operator decides has: who asked and when, and the decision (a
    returned request carries the reason)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_reason = models.TextField(_("reason for returning"), blank=True)

    class Meta:
        abstract = True


class ConnectionRequest(DecidedRequest):
    """An authority's request to connect a payment system, reviewed by an operator.

    submitted -> approved (the agreements are made), or submitted -> returned (with a reason)
    -> submitted again once the requester has corrected it.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned")
        APPROVED = "approved", _("Approved")

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="connection_requests",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED
    )
    # A system already connected for other authorities is only activated; a new one is tested.
    new_system = models.BooleanField(_("new payment system"))
    payment_system = models.ForeignKey(
        "payments.PaymentSystem",
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The connected system; for a new system, the one made on approval."),
    )
    system_name = models.CharField(_("name of the new system"), max_length=200, blank=True)
    system_vendor = models.CharField(_("vendor of the new system"), max_length=200, blank=True)
    units = models.ManyToManyField(
        "accounts.LosUnit", verbose_name=_("LOS units"), related_name="+"
    )
    bank = models.ForeignKey(
        "accounts.Bank", verbose_name=_("bank"), on_delete=models.PROTECT, related_name="+"
    )
    bank_agreement_number = models.CharField(_("bank agreement number"), max_length=20)
    disbursement_reg = models.CharField(_("disbursement account reg.nr."), max_length=4, blank=True)
    disbursement_number = models.CharField(
        _("disbursement account number"), max_length=10, blank=True
    )
    failure_choice = models.CharField(_("failure choice"), max_length=20, choices=failure_choices)
    waiting_fallback = models.CharField(
        _("after the waiting account"),
        max_length=20,
        choices=waiting_fallback_choices,
        default="return",
    )
    error_account_reg = models.CharField(_("error account reg.nr."), max_length=4, blank=True)
    error_account_number = models.CharField(_("error account number"), max_length=10, blank=True)
    go_live_on = models.DateField(_("planned go-live date"))
    contact_name = models.CharField(_("contact person"), max_length=200)
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    technical_name = models.CharField(_("technical contact"), max_length=200)
    technical_email = models.EmailField(_("technical contact's e-mail"))
    technical_phone = models.CharField(_("technical contact's phone"), max_length=30)
    agreement = models.OneToOneField(
        "payments.ConnectionAgreement",
        verbose_name=_("connection agreement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="connection_request",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("connection request")
        verbose_name_plural = _("connection requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(new_system=True, system_name__gt="")
                | Q(new_system=False, payment_system__isnull=False),
                name="connection_request_names_its_system",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(agreement__isnull=False),
                name="connection_request_approved_has_agreement",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(return_reason__gt=""),
                name="connection_request_returned_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return _("Connection request %(number)s: %(authority)s, %(system)s") % {
            "number": self.pk,
            "authority": self.authority,
            "system": self.system_label,
        }

    @property
    def system_label(self) -> str:
        if self.new_system and self.payment_system_id is None:
            vendor = f" ({self.system_vendor})" if self.system_vendor else ""
            return f"{self.system_name}{vendor}"
        return str(self.payment_system)


class UserRequest(DecidedRequest):
    """A request to create a caseworker or change one's role profiles, for an authority without
    a local administrator of its own; an operator carries it out (or returns it)."""

    class Kind(models.TextChoices):
        CREATE = "create", _("Create a user")
        CHANGE = "change", _("Change a user's role profiles")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RETURNED = "returned", _("Returned")
        DONE = "done", _("Done")

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="user_requests",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED
    )
    # The user to change; for a new user, the one created when the request is carried out.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("user request")
        verbose_name_plural = _("user requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="create", username__gt="") | Q(kind="change", user__isnull=False),
                name="user_request_names_its_user",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(return_reason__gt=""),
                name="user_request_returned_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return _("User request %(number)s: %(authority)s, %(user)s") % {
            "number": self.pk,
            "authority": self.authority,
            "user": self.user_label,
        }

    @property
    def user_label(self) -> str:
        if self.user_id is not None and self.user is not None:
            return self.user.get_full_name() or self.user.username
        return f"{self.first_name} {self.last_name} ({self.username})".strip()


class UserRequestLine(models.Model):
    """One role profile on one LOS unit to grant (or, for a change, to take back)."""

    class Action(models.TextChoices):
        GRANT = "grant", _("Grant")
        REVOKE = "revoke", _("Revoke")

    request = models.ForeignKey(
        UserRequest, verbose_name=_("user request"), on_delete=models.CASCADE, related_name="lines"
    )
    action = models.CharField(
        _("action"), max_length=10, choices=Action.choices, default=Action.GRANT
    )
    role_profile = models.ForeignKey(
        "accounts.RoleProfile",
        verbose_name=_("role profile"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    unit = models.ForeignKey(
        "accounts.LosUnit", verbose_name=_("LOS unit"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["request", "id"]
        verbose_name = _("requested role profile")
        verbose_name_plural = _("requested role profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "role_profile", "unit"], name="user_request_line_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.role_profile} · {self.unit}"
