"""Payment systems, benefits, connection and bank agreements, bank closing days and readiness."""

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from accounts.models import Authority
from nemkonto.errors import ValidationFailed


class BankClosure(models.Model):
    """An ad-hoc bank closing day on top of the statutory ones (DOMAIN.md section 10).

    Only closures: Danish banks never open on a statutory closing day, so there is no
    "open anyway" override. The statutory days live in code (``payments.calendar``).
    """

    date = models.DateField(_("date"), unique=True)
    reason = models.CharField(
        _("reason"), max_length=200, help_text=_("Shown wherever the closing day is listed.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # PROTECT: who closed a bank day is audit information and must not vanish with a user.
    # Nullable for closures created by data migrations or scripts.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["date"]
        verbose_name = _("bank closure")
        verbose_name_plural = _("bank closures")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.reason}"

    def clean(self) -> None:
        # A closure on a day that is closed anyway changes nothing; it is almost always a
        # mistyped date, so tell the operator instead of storing it.
        from payments.calendar import closing_days

        if self.date is None:
            return
        if self.date.weekday() >= 5:
            name = str(WEEKDAYS[self.date.weekday()])
        else:
            name = closing_days(self.date.year, include_overrides=False).get(self.date, "")
        if name:
            raise ValidationError(
                {
                    "date": ValidationError(
                        _("Banks are already closed on this day (%(name)s)."),
                        code="already_closed",
                        params={"name": name},
                    )
                }
            )


class PaymentSystem(models.Model):
    """A payment system (*betalingssystem*) that sends payments for one or more authorities."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("payment system")
        verbose_name_plural = _("payment systems")

    def __str__(self) -> str:
        return self.name


# --- Benefits, agreements and readiness (DOMAIN.md section 7, issue 4) ------------------------

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    _("Use letters, digits, '.', '_' and '-' only, starting with a letter or digit."),
    code="invalid_code",
)


class Benefit(models.Model):
    """A benefit (*ydelse*) an authority pays; every payment names one by its code."""

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="benefits",
    )
    # The code is what payment systems send; it never changes once created (a renamed benefit
    # keeps its code, a new code is a new benefit).
    code = models.CharField(_("code"), max_length=30, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["authority", "code"]
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "code"], name="benefit_code_per_authority"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


def error_account_normalise(
    failure_choice: str, reg: str, number: str, *, waiting_fallback: str = ""
) -> tuple[str, str]:
    """The error account for a failure choice, normalised (number zero-padded to 10 digits).

    Raises ValidationFailed (with the field) unless the account is given exactly when the choice
    (or, for the waiting account, the choice it falls back to) is the error account, and is then
    a valid Danish account.
    """
    from registry.identifiers import IdentifierError, parse_danish_account

    reg, number = (reg or "").strip(), (number or "").strip()
    if failure_choice == ConnectionAgreement.FailureChoice.WAITING:
        failure_choice = waiting_fallback
    if failure_choice != ConnectionAgreement.FailureChoice.ERROR_ACCOUNT:
        if reg or number:
            raise ValidationFailed(
                _("An error account is only given when the failure choice is error account."),
                field="error_account_reg" if reg else "error_account_number",
                code="error_account_not_chosen",
            )
        return "", ""
    if not reg or not number:
        raise ValidationFailed(
            _("The failure choice error account needs the account (reg.nr. and number)."),
            field="error_account_number" if reg else "error_account_reg",
            code="error_account_required",
        )
    try:
        account = parse_danish_account(reg, number)
    except IdentifierError as exc:
        field = "error_account_reg" if exc.field == "reg" else "error_account_number"
        raise ValidationFailed(str(exc), field=field, code=exc.code) from exc
    return account.reg, account.number


def validation_error_from(exc: ValidationFailed) -> ValidationError:
    """An application error as a Django ValidationError on its field (for model forms)."""
    error = ValidationError(str(exc.message), code=exc.code)
    return ValidationError({exc.field: error}) if exc.field else error


# The error account is needed when it is the failure choice, or the waiting account's fallback.
_ERROR_ACCOUNT_CHOSEN = Q(failure_choice="error_account") | Q(
    failure_choice="waiting", waiting_fallback="error_account"
)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    obj_field=pghistory.ObjForeignKey(related_name="events"),
)
class ConnectionAgreement(models.Model):
    """An authority's connection agreement (*tilslutningsaftale*) with one payment system.

    A new system goes requested -> in test -> active; a system already active for another
    authority is activated straight away. Every change (status, failure choice) is kept by
    pghistory, with the acting user in the event context.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        IN_TEST = "in_test", _("In test")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class FailureChoice(models.TextChoices):
        RETURN = "return", _("Return to the authority")
        CHEQUE = "cheque", _("Cheque to the recipient's address")
        ERROR_ACCOUNT = "error_account", _("Transfer to an error account")
        # The 2025 law's *ventekonto*: the payment waits until the recipient registers an account,
        # for at most NEMKONTO_WAITING_DAYS; then ``waiting_fallback`` applies.
        WAITING = "waiting", _("Hold on the waiting account")

    class WaitingFallback(models.TextChoices):
        RETURN = "return", _("Return to the authority")
        CHEQUE = "cheque", _("Cheque to the recipient's address")
        ERROR_ACCOUNT = "error_account", _("Transfer to an error account")

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="connection_agreements",
    )
    payment_system = models.ForeignKey(
        PaymentSystem,
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        related_name="agreements",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    failure_choice = models.CharField(
        _("failure choice"),
        max_length=20,
        choices=FailureChoice.choices,
        default=FailureChoice.RETURN,
        help_text=_("What happens to a payment whose recipient has no account."),
    )
    waiting_fallback = models.CharField(
        _("after the waiting account"),
        max_length=20,
        choices=WaitingFallback.choices,
        default=WaitingFallback.RETURN,
        help_text=_(
            "With the waiting account: what happens to a payment that has waited for the "
            "longest time allowed."
        ),
    )
    error_account_reg = models.CharField(_("error account reg.nr."), max_length=4, blank=True)
    error_account_number = models.CharField(_("error account number"), max_length=10, blank=True)
    signed_at = models.DateField(_("signed on"), null=True, blank=True)
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    test_started_at = models.DateTimeField(_("test started at"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # The agreement's start date: real payments with an earlier value date are refused at intake
    # (payments.services.batches). None: no restriction (agreements made before it was kept).
    go_live_on = models.DateField(
        _("go-live date"),
        null=True,
        blank=True,
        help_text=_(
            "The agreement's start date: payments with an earlier value date are refused. "
            "Empty: no restriction."
        ),
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)

    class Meta:
        ordering = ["authority", "payment_system"]
        verbose_name = _("connection agreement")
        verbose_name_plural = _("connection agreements")
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "payment_system"], name="agreement_one_per_authority_system"
            ),
            models.CheckConstraint(
                condition=(
                    _ERROR_ACCOUNT_CHOSEN & ~Q(error_account_reg="") & ~Q(error_account_number="")
                )
                | (~_ERROR_ACCOUNT_CHOSEN & Q(error_account_reg="") & Q(error_account_number="")),
                name="agreement_error_account_iff_chosen",
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(activated_at__isnull=False),
                name="agreement_active_has_activation_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority} · {self.payment_system}"

    def clean(self) -> None:
        try:
            self.error_account_reg, self.error_account_number = error_account_normalise(
                self.failure_choice,
                self.error_account_reg,
                self.error_account_number,
                waiting_fallback=self.waiting_fallback,
            )
        except ValidationFailed as exc:
            raise validation_error_from(exc) from exc

    @property
    def in_test(self) -> bool:
        """Whether its payment system sends test payments (payments.test_script)."""
        return self.status == self.Status.IN_TEST

    @property
    def error_account_masked(self) -> str:
        if not self.error_account_number:
            return ""
        return f"{self.error_account_reg} ****{self.error_account_number[-4:]}"


BANK_AGREEMENT_NUMBER_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9-]+$",
    _("Use letters, digits and '-' only."),
    code="invalid_bank_agreement_number",
)


class BankAgreement(models.Model):
    """An authority's agreement with its bank about payment services.

    Every payment carries the bank agreement number (*pengeinstitutaftalenummer*); the money is
    drawn from the agreement's disbursement accounts from ``pays_from``.
    """

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="bank_agreements",
    )
    bank = models.ForeignKey(
        "accounts.Bank",
        verbose_name=_("bank"),
        on_delete=models.PROTECT,
        related_name="agreements",
    )
    number = models.CharField(
        _("bank agreement number"),
        max_length=20,
        unique=True,
        validators=[BANK_AGREEMENT_NUMBER_VALIDATOR],
        help_text=_("The pengeinstitutaftalenummer every payment carries."),
    )
    pays_from = models.DateField(_("pays via NemKonto from"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["authority", "number"]
        verbose_name = _("bank agreement")
        verbose_name_plural = _("bank agreements")

    def __str__(self) -> str:
        return f"{self.number} ({self.bank})"


class DisbursementAccount(models.Model):
    """An account at the authority's bank that payments under a bank agreement are drawn from."""

    agreement = models.ForeignKey(
        BankAgreement,
        verbose_name=_("bank agreement"),
        on_delete=models.CASCADE,
        related_name="disbursement_accounts",
    )
    reg = models.CharField(_("reg.nr."), max_length=4)
    number = models.CharField(_("account number"), max_length=10)

    class Meta:
        ordering = ["agreement", "reg", "number"]
        verbose_name = _("disbursement account")
        verbose_name_plural = _("disbursement accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "reg", "number"], name="disbursement_account_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reg} {self.number}"

    def clean(self) -> None:
        from registry.identifiers import IdentifierError, parse_danish_account

        try:
            account = parse_danish_account(self.reg, self.number)
        except IdentifierError as exc:
            field = "reg" if exc.field == "reg" else "number"
            raise ValidationError({field: exc.as_validation_error()}) from exc
        self.reg, self.number = account.reg, account.number


class ReadinessItemCode(models.TextChoices):
    """The guide's readiness checklist for an authority, items 1.1 to 1.11 (DOMAIN.md section 7)."""

    AGREEMENT = "1.1", _("Connection agreement signed")
    BANK_AGREEMENT = "1.2", _("Bank agreement number known and the bank told")
    USERS = "1.3", _("Users created with the right role profiles")
    RECIPIENT_IDS = "1.4", _("Recipient IDs are correct")
    CUT_OFF = "1.5", _("Cut-off times are known")
    REPORTING = "1.6", _("Can report NemKonti and specific accounts")
    RETURN_ANSWERS = "1.7", _("Procedure for return answers")
    RETURNED_PAYMENTS = "1.8", _("Procedure for returned payments")
    MISSING_MONEY = "1.9", _("Procedure when a recipient says the money never came")
    LETTERS = "1.10", _("Letters changed to the standard wording")
    INFORMED = "1.11", _("Staff and recipients informed")


class ReadinessConfirmation(models.Model):
    """The local administrator's word for a readiness item the data cannot tell."""

    authority = models.ForeignKey(
        "accounts.Authority",
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        related_name="readiness_confirmations",
    )
    item = models.CharField(_("item"), max_length=5, choices=ReadinessItemCode.choices)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["authority", "item"]
        verbose_name = _("readiness confirmation")
        verbose_name_plural = _("readiness confirmations")
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "item"], name="readiness_confirmation_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.authority} {self.item}"


class Readiness(Authority):
    """The readiness checklist of an authority, as its own page in the admin (no table)."""

    class Meta:
        proxy = True
        verbose_name = _("readiness checklist")
        verbose_name_plural = _("readiness checklists")
