"""Every write of a NemKonto (DOMAIN.md section 4), one service per channel.

- citizen (portal): create, change or delete their own, at once;
- bank (API): report a customer's new or changed NemKonto, at once;
- caseworker: a pending change that needs the recipient's activation code (``activation``);
- operator: decide on a change held for review.

Rules shared by all channels (**our rules**, where DOMAIN.md is silent):

- A foreign account is always held for review before it is used (DOMAIN.md section 3).
- The newest instruction wins: a change (or a deletion) cancels a change still waiting for
  activation or review.
- Reporting the account that is already the NemKonto creates no new version.

Every service locks the recipient's row first, so the changes of one recipient are serialised
and the partial unique indexes never see two writers at once.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import ApiClient, User
from accounts.selectors import is_operator
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from registry.models import AccountKind, Channel, NemKonto, Notice, Recipient, StoredAccount
from registry.services.common import (
    Who,
    account_from_input,
    recipient_find,
    recipient_lock,
    require_citizen,
    version_end,
    who_bank,
    who_user,
)
from registry.services.notices import NoticeText, notice_texts_author, notices_queue
from registry.services.payments_hook import accounts_changed
from registry.services.risk import change_risks

State = NemKonto.State
EndReason = NemKonto.EndReason
WAITING = (State.PENDING, State.HELD)


@dataclass(frozen=True)
class NemKontoChange:
    """What a change did: the version it wrote (or the unchanged current one), the version in
    force before it, and whether anything changed."""

    version: NemKonto
    previous: NemKonto | None
    changed: bool


# --- Building blocks (no permission checks: the services below check first) -------------------


def current_version(recipient: Recipient) -> NemKonto | None:
    return NemKonto.objects.filter(recipient=recipient, state=State.ACTIVE).first()


def waiting_version(recipient: Recipient) -> NemKonto | None:
    return NemKonto.objects.filter(recipient=recipient, state__in=WAITING).first()


def _end(version: NemKonto, *, who: Who, at: datetime, reason: NemKonto.EndReason) -> None:
    """End an active version, or cancel a waiting one."""
    state = State.ENDED if version.state == State.ACTIVE else State.CANCELLED
    version_end(version, state=state, who=who, at=at, reason=reason)


def _audit(who: Who, action: str, version: NemKonto, **data: object) -> None:
    audit_record(
        actor=who.user,
        action=action,
        target=version,
        authority=who.authority,
        data={
            "recipient": version.recipient_id,
            "channel": who.channel,
            "by": who.label,
            "account": version.masked_account,
            "state": version.state,
            **data,
        },
    )


def cancel_waiting(recipient: Recipient, *, who: Who, at: datetime) -> NemKonto | None:
    """Cancel the change waiting for activation or review, if any (the newest instruction wins)."""
    waiting = waiting_version(recipient)
    if waiting is None:
        return None
    _end(waiting, who=who, at=at, reason=EndReason.SUPERSEDED)
    _audit(who, "nemkonto.cancel", waiting, reason=EndReason.SUPERSEDED)
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_CANCELLED,
            _("A change of your NemKonto was cancelled"),
            [
                _(
                    "The change of your NemKonto to %(account)s, which was waiting to take "
                    "effect, was cancelled because %(author)s made a newer change."
                )
                % {"account": waiting.masked_account, "author": notice_texts_author(who)}
            ],
        ),
    )
    return waiting


def make_active(
    recipient: Recipient, version: NemKonto, *, who: Who, at: datetime
) -> NemKonto | None:
    """Put a version in force at ``at``: the current one is ended (replaced). Returns the ended
    one. The caller holds the recipient's lock."""
    previous = current_version(recipient)
    if previous is not None:
        _end(previous, who=who, at=at, reason=EndReason.REPLACED)
    version.state = State.ACTIVE
    version.activated_at = at
    version.save(update_fields=["state", "activated_at"])
    accounts_changed([recipient.pk])
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_CHANGED,
            _("Your NemKonto has been changed"),
            [
                _(
                    "From %(date)s, public payments to you go to the account %(account)s. The "
                    "change was made by %(author)s."
                )
                % {
                    "date": timezone.localtime(at).strftime("%d.%m.%Y %H:%M"),
                    "account": version.masked_account,
                    "author": notice_texts_author(who),
                }
            ],
        ),
        old_account=(
            previous.stored_account
            if previous is not None and not previous.same_account(version.stored_account)
            else None
        ),
        who=who,
    )
    return previous


def hold_for_review(
    recipient: Recipient, version: NemKonto, *, who: Who, reasons: list[str]
) -> None:
    """A risky change waits for an operator's review (registry/services/risk.py); payments to
    the recipient wait too. The recipient is told on the new channel (their notice) and, when
    they have a NemKonto, on the old one (via the bank of the account in force)."""
    version.state = State.HELD
    version.hold_reasons = reasons
    version.save(update_fields=["state", "hold_reasons"])
    current = current_version(recipient)
    author = notice_texts_author(who)
    why = _("Why: %(reasons)s.") % {"reasons": ", ".join(version.hold_reason_labels()).lower()}
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_HELD,
            _("Your new NemKonto is being checked"),
            [
                _(
                    "The account %(account)s has been registered as your new NemKonto by "
                    "%(author)s. The NemKonto service checks the change before it is used; until "
                    "then, payments to you wait."
                )
                % {"account": version.masked_account, "author": author},
                why,
            ],
        ),
        old_account=current.stored_account if current is not None else None,
        who=who,
        old_account_text=NoticeText(
            Notice.Kind.NEMKONTO_HELD,
            _("A change of your NemKonto is being checked"),
            [
                _(
                    "%(author)s has asked for public payments to you to go to the account "
                    "%(account)s instead of %(current)s. The NemKonto service checks the change "
                    "before it is used; until then, payments to you wait."
                )
                % {
                    "author": author,
                    "account": version.masked_account,
                    "current": current.masked_account if current is not None else "",
                },
                why,
            ],
        ),
    )


def apply_now(recipient: Recipient, account: StoredAccount, *, who: Who) -> NemKontoChange:
    """A change that takes effect at once (citizen, bank), or is held when foreign."""
    recipient = recipient_lock(recipient)
    now = timezone.now()
    current = current_version(recipient)
    if current is not None and current.same_account(account):
        cancel_waiting(recipient, who=who, at=now)
        return NemKontoChange(version=current, previous=current, changed=False)
    waiting = waiting_version(recipient)
    if waiting is not None and waiting.state == State.HELD and waiting.same_account(account):
        return NemKontoChange(version=waiting, previous=current, changed=False)
    cancel_waiting(recipient, who=who, at=now)
    version = NemKonto(
        recipient=recipient,
        state=State.HELD,  # replaced below; written as waiting first so the index holds
        channel=who.channel,
        actor=who.user,
        actor_label=who.label,
        authority=who.authority,
        bank=who.bank,
        created_at=now,
    )
    version.set_account(account)
    version.save()
    reasons = change_risks(recipient, account, now=now)
    if reasons:
        hold_for_review(recipient, version, who=who, reasons=reasons)
        _audit(who, "nemkonto.hold", version, reasons=reasons)
    else:
        make_active(recipient, version, who=who, at=now)
        _audit(who, "nemkonto.change", version, previous=current.pk if current else None)
    return NemKontoChange(version=version, previous=current, changed=True)


# --- Citizen --------------------------------------------------------------------------------


@transaction.atomic
def nemkonto_set(*, actor: User, account: dict[str, str] | StoredAccount) -> NemKontoChange:
    """A citizen creates or changes their own NemKonto, at once (a foreign one is held for
    review). Raises PermissionDenied (not a citizen: businesses are read-only), NotFound (not in
    the register), ValidationFailed (the account)."""
    recipient = require_citizen(actor)
    stored = account if isinstance(account, StoredAccount) else account_from_input(account)
    return apply_now(recipient, stored, who=who_user(actor, Channel.CITIZEN))


@transaction.atomic
def nemkonto_delete(*, actor: User) -> NemKonto:
    """A citizen deletes their own NemKonto: the current version ends, none follows (payments
    then fail with return code 7). Returns the ended (or cancelled) version. Raises
    PermissionDenied, NotFound, Conflict (there is nothing to delete)."""
    recipient = recipient_lock(require_citizen(actor))
    who = who_user(actor, Channel.CITIZEN)
    now = timezone.now()
    cancelled = cancel_waiting(recipient, who=who, at=now)
    current = current_version(recipient)
    if current is None:
        if cancelled is not None:
            return cancelled
        raise Conflict(_("You have no NemKonto to delete."), code="no_nemkonto")
    _end(current, who=who, at=now, reason=EndReason.DELETED)
    _audit(who, "nemkonto.delete", current)
    accounts_changed([recipient.pk])
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_DELETED,
            _("Your NemKonto has been deleted"),
            [
                _(
                    "Your NemKonto %(account)s was deleted by %(author)s. Until you register a "
                    "new one, public authorities cannot pay money to you."
                )
                % {"account": current.masked_account, "author": notice_texts_author(who)}
            ],
        ),
        old_account=current.stored_account,
        who=who,
    )
    return current


# --- Bank -----------------------------------------------------------------------------------


def _require_bank(client: ApiClient) -> None:
    if client.kind != ApiClient.Kind.BANK or client.bank is None or not client.is_active:
        raise PermissionDenied(
            _("Only a bank's API client can report NemKonti."), code="bank_client_required"
        )


def _account_at_bank(account: StoredAccount, client: ApiClient) -> bool:
    """Whether the account is held by the reporting bank (our rule: a bank reports only its own
    customers' accounts, DOMAIN.md section 4)."""
    bank = client.bank
    assert bank is not None
    if account.kind != AccountKind.DANISH:
        return False
    if account.reg == bank.reg:
        return True
    from schwifty import registry as schwifty_registry

    bics = {
        str(getattr(entry, "bic", "") or "").upper()
        for entry in schwifty_registry.get_banks_by_code("DK", account.reg)
    }
    return bool(bank.bic) and any(bic[:8] == bank.bic.upper()[:8] for bic in bics if bic)


@transaction.atomic
def nemkonto_report_by_bank(
    *, actor: ApiClient, id_type: str, id_number: str, account: dict[str, str] | StoredAccount
) -> NemKontoChange:
    """A bank reports a customer's new or changed NemKonto; it takes effect at once.

    Raises PermissionDenied (not a bank client), ValidationFailed (malformed ID or account, or an
    account the bank does not hold), NotFound (not in the register).
    """
    _require_bank(actor)
    recipient = recipient_find(id_type, id_number, prefix="")
    stored = account if isinstance(account, StoredAccount) else account_from_input(account)
    if not _account_at_bank(stored, actor):
        assert actor.bank is not None
        raise ValidationFailed(
            _(
                "A bank can only report accounts it holds itself: %(account)s is not an account "
                "of %(bank)s."
            )
            % {"account": stored.masked, "bank": actor.bank.name},
            field="account",
            code="account_not_at_bank",
        )
    return apply_now(recipient, stored, who=who_bank(actor))


# --- Operator -------------------------------------------------------------------------------


@transaction.atomic
def nemkonto_review(*, actor: User, version: NemKonto, approve: bool) -> NemKonto:
    """An operator approves (the account takes effect now) or rejects a change held for review.

    Raises PermissionDenied (not an operator), Conflict (the version is not held for review).
    """
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service may review changes."), code="operator_only"
        )
    recipient = recipient_lock(version.recipient)
    version = NemKonto.objects.get(pk=version.pk)
    if version.state != State.HELD:
        raise Conflict(
            _("Only a change held for review can be approved or rejected."), code="not_held"
        )
    who = who_user(actor, Channel.OPERATOR)
    now = timezone.now()
    if approve:
        previous = make_active(recipient, version, who=who, at=now)
        _audit(who, "nemkonto.approve", version, previous=previous.pk if previous else None)
        return version
    _end(version, who=who, at=now, reason=EndReason.REJECTED)
    _audit(who, "nemkonto.reject", version)
    notices_queue(
        recipient=recipient,
        text=NoticeText(
            Notice.Kind.NEMKONTO_CANCELLED,
            _("Your new NemKonto was not approved"),
            [
                _(
                    "The foreign account %(account)s was not approved as your NemKonto. Your "
                    "NemKonto is unchanged. Contact the NemKonto service if you have questions."
                )
                % {"account": version.masked_account}
            ],
        ),
    )
    return version
