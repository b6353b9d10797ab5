"""Caseworkers' NemKonto changes and their activation (DOMAIN.md section 4).

A caseworker's change is written as a *pending* version; the previous account stays in force.
An activation letter with a one-time code goes to the recipient's address from the register.
The recipient activates with the code, by phone menu or on the portal; only then does the new
account take effect.

The code is 8 digits from ``secrets``. Only a keyed hash is stored (HMAC-SHA256 over a per-letter
salt and the code, keyed with the SECRET_KEY via ``salted_hmac``): fast to check, useless
without the key. It expires after ``NEMKONTO_ACTIVATION_DAYS`` days (default 14) and
``NEMKONTO_ACTIVATION_MAX_ATTEMPTS`` wrong codes (default 5) cancel the change, so guessing
one code in 10^8 within 5 tries is hopeless.
"""

import datetime
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.functions import Function
from accounts.models import User
from accounts.selectors import units_for
from nemkonto.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.letters import LetterContent, addressee, letter_pdf
from registry.models import ActivationLetter, Channel, NemKonto, Notice, Recipient
from registry.services.common import (
    Who,
    account_from_input,
    is_employee,
    own_recipient,
    recipient_find,
    recipient_lock,
    who_user,
)
from registry.services.nemkonto import (
    EndReason,
    State,
    _audit,
    _end,
    cancel_waiting,
    current_version,
    hold_for_review,
    make_active,
)
from registry.services.notices import NoticeText, notice_texts_author, notices_queue
from registry.services.risk import change_risks

CODE_DIGITS = 8
DEFAULT_DAYS = 14
DEFAULT_MAX_ATTEMPTS = 5


def activation_days() -> int:
    return int(getattr(settings, "NEMKONTO_ACTIVATION_DAYS", DEFAULT_DAYS))


def max_attempts() -> int:
    return int(getattr(settings, "NEMKONTO_ACTIVATION_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def generate_code() -> str:
    """A fresh activation code: 8 random digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(salt: str, code: str) -> str:
    return salted_hmac("registry.activation-code", f"{salt}:{code}", algorithm="sha256").hexdigest()


def _normalise_code(raw: str) -> str:
    return "".join(ch for ch in str(raw) if ch not in " -")


@dataclass(frozen=True)
class CaseworkerChange:
    """The pending version and its letter (the code is only in the letter's PDF)."""

    version: NemKonto
    letter: ActivationLetter
    current: NemKonto | None


def _require_update_nemkonto(actor: User) -> None:
    if (
        not is_employee(actor)
        or not units_for(user=actor, function=Function.UPDATE_NEMKONTO).exists()
    ):
        raise PermissionDenied(
            _("You need the role profile for updating NemKonti (NKS-Opdater-NemKonto)."),
            code="not_permitted",
        )


@transaction.atomic
def nemkonto_change_by_caseworker(
    *, actor: User, id_type: str, id_number: str, account: dict[str, str]
) -> CaseworkerChange:
    """A caseworker registers a new NemKonto at the recipient's request: a pending version and
    its activation letter (PDF) are written; the current account stays in force until the
    recipient activates. Raises PermissionDenied (no UPDATE_NEMKONTO on any unit of the actor's
    authority), ValidationFailed (malformed ID or account; no address to send the letter to),
    NotFound (not in the register), Conflict (the account is already the NemKonto)."""
    _require_update_nemkonto(actor)
    recipient = recipient_find(id_type, id_number)
    stored = account_from_input(account)
    recipient = recipient_lock(recipient)
    if not (recipient.address and recipient.postcode):
        raise ValidationFailed(
            _(
                "The register has no address for the recipient, so no activation letter can be "
                "sent. The recipient can ask their bank to report the NemKonto instead."
            ),
            field="recipient",
            code="no_address",
        )
    current = current_version(recipient)
    if current is not None and current.same_account(stored):
        raise Conflict(
            _("The account is already the recipient's NemKonto."),
            field="account",
            code="already_current",
        )
    assert actor.authority is not None
    who = who_user(actor, Channel.CASEWORKER, authority=actor.authority)
    now = timezone.now()
    cancel_waiting(recipient, who=who, at=now)
    version = NemKonto(
        recipient=recipient,
        state=State.PENDING,
        channel=Channel.CASEWORKER,
        actor=actor,
        actor_label=who.label,
        authority=actor.authority,
        created_at=now,
    )
    version.set_account(stored)
    version.save()
    code = generate_code()
    salt = secrets.token_hex(16)
    expires_at = now + datetime.timedelta(days=activation_days())
    letter = ActivationLetter(
        nemkonto=version,
        code_salt=salt,
        code_hash=code_hash(salt, code),
        expires_at=expires_at,
        addressee=addressee(recipient),
        created_at=now,
    )
    pdf = letter_pdf(
        LetterContent(
            recipient=recipient,
            code=code,
            new_account=stored,
            current_account=current.stored_account if current is not None else None,
            authority_name=actor.authority.name,
            expires_at=expires_at,
            written_at=now,
        )
    )
    # Saved before the commit: should the transaction roll back, an orphan file is left in
    # MEDIA_ROOT, which holds nothing the database points to (never a wrong letter).
    letter.pdf.save(
        f"activation-{version.pk}-{secrets.token_hex(8)}.pdf", ContentFile(pdf), save=False
    )
    letter.save()
    _audit(who, "nemkonto.request", version, letter=letter.pk, expires_at=expires_at.isoformat())
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_PENDING,
            _("A new NemKonto is waiting for your activation"),
            [
                _(
                    "%(author)s has registered the account %(account)s as your new NemKonto. "
                    "We have sent you a letter with an activation code; the account is only "
                    "used after you activate it, before %(date)s."
                )
                % {
                    "author": notice_texts_author(who),
                    "account": version.masked_account,
                    "date": timezone.localtime(expires_at).strftime("%d.%m.%Y"),
                }
            ],
        ),
    )
    return CaseworkerChange(version=version, letter=letter, current=current)


# --- Activation -----------------------------------------------------------------------------

VIA_PHONE = "phone"
VIA_PORTAL = "portal"


class ActivationRefused(ValidationFailed):
    """A wrong, expired or used-up code (422, the field is ``code``)."""


def _no_pending() -> NotFound:
    # The same answer whether the ID is unknown or has nothing waiting (no enumeration).
    return NotFound(
        _("No change of NemKonto is waiting for activation for this ID."),
        field="code",
        code="no_pending_change",
    )


def _expired() -> ActivationRefused:
    return ActivationRefused(
        _(
            "The activation code has expired, and the change was cancelled. Ask the authority "
            "to register the account again to get a new letter."
        ),
        field="code",
        code="code_expired",
    )


def _locked_out() -> ActivationRefused:
    return ActivationRefused(
        _(
            "The code was entered wrongly too many times, and the change was cancelled. Ask "
            "the authority to register the account again to get a new letter."
        ),
        field="code",
        code="too_many_attempts",
    )


def _lapse(version: NemKonto, reason: NemKonto.EndReason, who: Who, at: datetime.datetime) -> None:
    _end(version, who=who, at=at, reason=reason)
    _audit(who, "nemkonto.lapse", version, reason=reason)
    notices_queue(
        recipient=version.recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_CANCELLED,
            _("A change of your NemKonto was cancelled"),
            [
                _(
                    "The change of your NemKonto to %(account)s was cancelled: %(reason)s. Your "
                    "NemKonto is unchanged."
                )
                % {"account": version.masked_account, "reason": version.get_end_reason_display()}
            ],
        ),
    )


@transaction.atomic
def _activation_attempt(
    *, recipient: Recipient, code: str, who: Who
) -> tuple[NemKonto | None, ApplicationError | None]:
    """One attempt, committed whatever its outcome (a wrong code must count)."""
    recipient = recipient_lock(recipient)
    letter = (
        ActivationLetter.objects.select_related("nemkonto", "nemkonto__authority")
        .filter(nemkonto__recipient=recipient)
        .order_by("-created_at", "-id")
        .first()
    )
    if letter is None:
        return None, _no_pending()
    version = letter.nemkonto
    if version.state != State.PENDING:
        if version.end_reason == EndReason.CODE_EXPIRED:
            return None, _expired()
        if version.end_reason == EndReason.TOO_MANY_ATTEMPTS:
            return None, _locked_out()
        return None, _no_pending()
    now = timezone.now()
    if now >= letter.expires_at:
        _lapse(version, EndReason.CODE_EXPIRED, who, now)
        return None, _expired()
    if not hmac.compare_digest(
        code_hash(letter.code_salt, _normalise_code(code)), letter.code_hash
    ):
        letter.attempts += 1
        letter.save(update_fields=["attempts"])
        audit_record(
            actor=who.user,
            action="nemkonto.activation_failed",
            target=version,
            data={"by": who.label, "attempts": letter.attempts},
        )
        left = max_attempts() - letter.attempts
        if left <= 0:
            _lapse(version, EndReason.TOO_MANY_ATTEMPTS, who, now)
            return None, _locked_out()
        return None, ActivationRefused(
            _("The activation code is wrong. You have %(left)d attempts left.") % {"left": left},
            field="code",
            code="wrong_code",
        )
    letter.used_at = now
    letter.save(update_fields=["used_at"])
    # The activation is the recipient's act, but the change stays the caseworker's: the version
    # keeps its author; who activated is in the audit record.
    reasons = change_risks(recipient, version.stored_account, now=now)
    if reasons:
        hold_for_review(recipient, version, who=who, reasons=reasons)
        _audit(who, "nemkonto.activate", version, held_for_review=True, reasons=reasons)
        return version, None
    previous = make_active(recipient, version, who=who, at=now)
    _audit(who, "nemkonto.activate", version, previous=previous.pk if previous else None)
    return version, None


def activation_activate(
    *, id_type: str, id_number: str, code: str, via: str, actor: User | None = None
) -> NemKonto:
    """Activate a caseworker's pending change with the code from the letter: the previous
    version ends and the new one is in force (a foreign account goes to review first).

    ``via`` is ``phone`` (the telephony provider; ``actor`` None) or ``portal`` (``actor`` is the
    logged-in recipient). Raises ValidationFailed (malformed ID; wrong, expired or used-up code:
    those attempts are still recorded), NotFound (nothing waits for this ID).
    """
    try:
        recipient = recipient_find(id_type, id_number)
    except NotFound:
        raise _no_pending() from None
    label = "telephony" if via == VIA_PHONE else (actor.get_username() if actor else "portal")
    who = Who(
        channel=Channel.ACTIVATION,
        label=f"{label} ({via})",
        user=actor if actor is not None and actor.is_authenticated else None,
    )
    version, error = _activation_attempt(recipient=recipient, code=code, who=who)
    if error is not None:
        raise error
    assert version is not None
    return version


def activation_activate_own(*, actor: User, code: str) -> NemKonto:
    """The portal page "activate with code": a logged-in citizen or business activates the
    change waiting for their own ID. Raises as ``activation_activate``, and PermissionDenied for
    other logins."""
    recipient = own_recipient(actor)
    return activation_activate(
        id_type=recipient.id_type,
        id_number=recipient.id_number,
        code=code,
        via=VIA_PORTAL,
        actor=actor,
    )


@transaction.atomic
def activation_codes_expire(*, now: datetime.datetime | None = None) -> int:
    """Cancel the pending changes whose code has expired (periodic); returns how many."""
    now = now or timezone.now()
    expired = (
        NemKonto.objects.select_for_update(of=("self",))
        .select_related("recipient")
        .filter(state=State.PENDING, activation_letter__expires_at__lte=now)
    )
    who = Who(channel=Channel.SYSTEM, label="system")
    count = 0
    for version in expired:
        _lapse(version, EndReason.CODE_EXPIRED, who, now)
        count += 1
    return count
