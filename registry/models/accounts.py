"""NemKonti and specific accounts, one row per version (DOMAIN.md sections 3 to 5).

Nothing is ever overwritten or deleted: a change adds a version and ends the one before it, so
"which account applied on date D, and who put it there" is a query over the versions. A version
applies from ``activated_at`` (inclusive) until ``ended_at`` (exclusive). Database triggers keep
the history honest: versions cannot be deleted, their account, recipient, channel, actor and
creation time never change, and a finished version (ended or cancelled) never changes at all.
"""

from dataclasses import dataclass

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.identifiers import DanishAccount, ForeignAccount, mask_account_number
from registry.models.register import Recipient


class AccountKind(models.TextChoices):
    DANISH = "danish", _("Danish account")
    FOREIGN = "foreign", _("Foreign account")


class Channel(models.TextChoices):
    """Who made a change, and through which door (DOMAIN.md section 4)."""

    CITIZEN = "citizen", _("Citizen (portal)")
    BANK = "bank", _("Bank report")
    CASEWORKER = "caseworker", _("Caseworker")
    OPERATOR = "operator", _("Operator")
    # The recipient's activation code (phone menu or portal) put a caseworker's change in force.
    ACTIVATION = "activation", _("Activation code")
    SYSTEM = "system", _("System (automatic)")


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """An account as stored on a version: normalised when written, never re-validated on read
    (a reg.nr. that leaves the bank registry later must not make history unreadable)."""

    kind: str
    reg: str = ""
    number: str = ""
    iban: str = ""
    bic: str = ""

    @property
    def masked(self) -> str:
        return mask_account_number(self.number if self.kind == AccountKind.DANISH else self.iban)

    @property
    def full(self) -> str:
        """The whole account, for the owner and those who need it."""
        if self.kind == AccountKind.DANISH:
            return f"{self.reg}-{self.number}"
        return f"{self.iban} ({self.bic})"

    def as_api(self) -> dict[str, str]:
        """The account in the API's shape (API.md, Conventions), unmasked."""
        if self.kind == AccountKind.DANISH:
            return {"reg": self.reg, "number": self.number}
        return {"iban": self.iban, "bic": self.bic}

    @classmethod
    def from_parsed(cls, account: DanishAccount | ForeignAccount) -> "StoredAccount":
        if isinstance(account, DanishAccount):
            return cls(AccountKind.DANISH, reg=account.reg, number=account.number)
        return cls(AccountKind.FOREIGN, iban=account.iban, bic=account.bic)


ACCOUNT_FIELDS = ("account_kind", "reg", "number", "iban", "bic")


class AccountFields(models.Model):
    """A normalised account: reg.nr. + 10-digit number (Danish) or IBAN + BIC (foreign)."""

    account_kind = models.CharField(_("account kind"), max_length=7, choices=AccountKind.choices)
    reg = models.CharField(_("registration number"), max_length=4, blank=True)
    number = models.CharField(_("account number"), max_length=10, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=(Q(account_kind="danish", iban="", bic="") & ~Q(reg="") & ~Q(number=""))
                | (Q(account_kind="foreign", reg="", number="") & ~Q(iban="") & ~Q(bic="")),
                name="%(app_label)s_%(class)s_account_shape",
            ),
        ]

    @property
    def stored_account(self) -> StoredAccount:
        return StoredAccount(self.account_kind, self.reg, self.number, self.iban, self.bic)

    @property
    def masked_account(self) -> str:
        return self.stored_account.masked

    def set_account(self, account: DanishAccount | ForeignAccount | StoredAccount) -> None:
        stored = (
            account if isinstance(account, StoredAccount) else StoredAccount.from_parsed(account)
        )
        self.account_kind = stored.kind
        self.reg, self.number, self.iban, self.bic = (
            stored.reg,
            stored.number,
            stored.iban,
            stored.bic,
        )

    def same_account(self, account: StoredAccount) -> bool:
        return self.stored_account == account


# The fields a version may still change after it is written (its life cycle); all else is fixed.
_LIFE_CYCLE_FIELDS = [
    "state",
    "activated_at",
    "ended_at",
    "end_reason",
    "ended_by",
    "ended_by_label",
    "ended_channel",
]


def _history_triggers(
    prefix: str, *, finished: list[str], life_cycle: list[str]
) -> list[pgtrigger.Trigger]:
    return [
        pgtrigger.Protect(name=f"{prefix}_never_deleted", operation=pgtrigger.Delete),
        pgtrigger.ReadOnly(name=f"{prefix}_fixed_fields", exclude=life_cycle),
        pgtrigger.Protect(
            name=f"{prefix}_finished_is_final",
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(old__state__in=finished),
        ),
    ]


class NemKonto(AccountFields):
    """One version of a recipient's NemKonto.

    At most one version per recipient is active (a partial unique index), and at most one waits
    (pending activation or held for review). A deleted NemKonto is an ended version with no
    active one after it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for activation")
        HELD = "held_for_review", _("Held for review")
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    class HoldReason(models.TextChoices):
        """Why a change looks risky and waits for an operator (registry/services/risk.py)."""

        FOREIGN_ACCOUNT = "foreign_account", _("Foreign account")
        FREQUENT_CHANGES = "frequent_changes", _("Several changes in a short time")
        SHARED_ACCOUNT = "shared_account", _("Account recently given by many recipients")
        LARGE_PAYMENT_PENDING = "large_payment_pending", _("A large payment is on its way")

    class EndReason(models.TextChoices):
        REPLACED = "replaced", _("Replaced by a newer account")
        DELETED = "deleted", _("Deleted")
        SUPERSEDED = "superseded", _("Superseded by a newer change before it took effect")
        CODE_EXPIRED = "code_expired", _("The activation code expired")
        TOO_MANY_ATTEMPTS = "too_many_attempts", _("Too many wrong activation codes")
        REJECTED = "rejected", _("Rejected on review")

    recipient = models.ForeignKey(
        Recipient,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="nemkonto_versions",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who made the change, readable without joins: a username, "bank 3000", "telephony".
    actor_label = models.CharField(_("changed by (label)"), max_length=200)
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    bank = models.ForeignKey(
        "accounts.Bank",
        verbose_name=_("reporting bank"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    activated_at = models.DateTimeField(_("active from"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=EndReason.choices, blank=True
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ended_by_label = models.CharField(_("ended by (label)"), max_length=200, blank=True)
    ended_channel = models.CharField(
        _("ended through"), max_length=12, choices=Channel.choices, blank=True
    )
    # HoldReason values: why the change was held for review.
    hold_reasons = models.JSONField(_("held because"), default=list, blank=True)

    class Meta:
        verbose_name = _("NemKonto version")
        verbose_name_plural = _("NemKonto versions")
        ordering = ["recipient", "-created_at", "-id"]
        constraints = [
            *AccountFields.Meta.constraints,
            models.UniqueConstraint(
                fields=["recipient"],
                condition=Q(state="active"),
                name="nemkonto_one_active_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["recipient"],
                condition=Q(state__in=["pending", "held_for_review"]),
                name="nemkonto_one_waiting_per_recipient",
            ),
            models.CheckConstraint(
                condition=(
                    Q(state__in=["pending", "held_for_review"], activated_at__isnull=True)
                    & Q(ended_at__isnull=True)
                )
                | Q(state="active", activated_at__isnull=False, ended_at__isnull=True)
                | Q(state="ended", activated_at__isnull=False, ended_at__isnull=False)
                | Q(state="cancelled", activated_at__isnull=True, ended_at__isnull=False),
                name="nemkonto_state_matches_times",
            ),
            models.CheckConstraint(
                condition=~Q(channel="caseworker") | Q(authority__isnull=False),
                name="nemkonto_caseworker_change_has_authority",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "activated_at"], name="nemkonto_recipient_time"),
            models.Index(fields=["authority", "created_at"], name="nemkonto_authority_time"),
            # Who else was recently given this account (the shared-account risk rule).
            models.Index(
                fields=["number", "reg", "iban", "created_at"],
                condition=Q(state__in=["active", "pending", "held_for_review"]),
                name="nemkonto_live_account",
            ),
        ]
        triggers = _history_triggers(
            "nemkonto",
            finished=["ended", "cancelled"],
            # A caseworker's change gets its hold reasons when the recipient activates it.
            life_cycle=[*_LIFE_CYCLE_FIELDS, "hold_reasons"],
        )

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.masked_account} ({self.get_state_display()})"

    def hold_reason_labels(self) -> list[str]:
        return [str(self.HoldReason(reason).label) for reason in self.hold_reasons]


class SpecificAccount(AccountFields):
    """One version of a specific account: used instead of the NemKonto for one benefit of one
    authority (DOMAIN.md section 5). It applies from ``created_at`` until ``ended_at`` and, when
    time-limited, only up to and including ``end_date``."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        REPLACED = "replaced", _("Replaced by a newer version")
        DELETED = "deleted", _("Deleted")
        EXPIRED = "expired", _("Expired (end date passed)")

    recipient = models.ForeignKey(
        Recipient,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="specific_account_versions",
    )
    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    benefit = models.ForeignKey(
        "payments.Benefit",
        verbose_name=_("benefit"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    locked = models.BooleanField(
        _("locked"),
        default=False,
        help_text=_("A locked specific account can only be changed by the authority."),
    )
    end_date = models.DateField(_("end date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("changed by (label)"), max_length=200)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=EndReason.choices, blank=True
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ended_by_label = models.CharField(_("ended by (label)"), max_length=200, blank=True)
    ended_channel = models.CharField(
        _("ended through"), max_length=12, choices=Channel.choices, blank=True
    )

    class Meta:
        verbose_name = _("specific account version")
        verbose_name_plural = _("specific account versions")
        ordering = ["recipient", "authority", "benefit", "-created_at", "-id"]
        constraints = [
            *AccountFields.Meta.constraints,
            models.UniqueConstraint(
                fields=["recipient", "authority", "benefit"],
                condition=Q(state="active"),
                name="specific_account_one_active",
            ),
            models.CheckConstraint(
                condition=Q(state="active", ended_at__isnull=True)
                | Q(state="ended", ended_at__isnull=False),
                name="specific_account_state_matches_times",
            ),
        ]
        indexes = [
            models.Index(fields=["authority", "created_at"], name="specific_authority_time"),
            models.Index(
                fields=["end_date"], condition=Q(state="active"), name="specific_active_end_date"
            ),
        ]
        triggers = _history_triggers(
            "specific_account",
            finished=["ended"],
            life_cycle=[f for f in _LIFE_CYCLE_FIELDS if f != "activated_at"],
        )

    def __str__(self) -> str:
        return f"{self.recipient_id}/{self.benefit_id}: {self.masked_account}"
