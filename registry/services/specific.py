"""Specific accounts (DOMAIN.md section 5): an account used instead of the NemKonto for one
benefit of one authority.

- Created only by a caseworker of the paying authority with the specific-accounts function
  (on any unit of the authority), at the recipient's request; banks never touch them.
- The authority may change or delete its own at any time, lock them, and limit them in time.
- A citizen may change or delete an unlocked one of their own; a locked one only the authority.
- Businesses cannot change theirs (they ask the authority).

Every change ends the current version and writes a new one (the same history as NemKonti).
"""

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.functions import Function
from accounts.models import AuditEvent, User
from accounts.selectors import units_for
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from payments.models import Benefit
from registry.models import Channel, Notice, Recipient, SpecificAccount, StoredAccount
from registry.services.common import (
    Who,
    account_from_input,
    is_employee,
    recipient_find,
    recipient_lock,
    require_citizen,
    version_end,
    who_user,
)
from registry.services.notices import NoticeText, notice_texts_author, notices_queue
from registry.services.payments_hook import accounts_changed

State = SpecificAccount.State
EndReason = SpecificAccount.EndReason
UNSET: Any = object()


def may_maintain_specific_accounts(user: Any) -> bool:
    """A caseworker with the specific-accounts function on any unit of their authority."""
    return is_employee(user) and (
        units_for(user=user, function=Function.UPDATE_SPECIFIC_ACCOUNTS).exists()
    )


def _require_caseworker(actor: User) -> None:
    if not may_maintain_specific_accounts(actor):
        raise PermissionDenied(
            _("You need the role profile for specific accounts (NKS-Opdater-SpecKonto)."),
            code="not_permitted",
        )


def _benefit(actor: User, code: str) -> Benefit:
    benefit = Benefit.objects.filter(authority=actor.authority, code=code).first()
    if benefit is None:
        raise NotFound(
            _("Your authority has no benefit %(code)s.") % {"code": code},
            field="benefit",
            code="unknown_benefit",
        )
    return benefit


def _check_end_date(end_date: datetime.date | None) -> None:
    if end_date is not None and end_date < timezone.localdate():
        raise ValidationFailed(
            _("The end date cannot be in the past."), field="end_date", code="end_date_past"
        )


def _audit(who: Who, action: str, version: SpecificAccount, **data: object) -> None:
    audit_record(
        actor=who.user,
        action=action,
        target=version,
        authority=version.authority,
        data={
            "recipient": version.recipient_id,
            "benefit": version.benefit.code,
            "channel": who.channel,
            "by": who.label,
            "account": version.masked_account,
            "locked": version.locked,
            "end_date": version.end_date.isoformat() if version.end_date else None,
            **data,
        },
    )


def _notice_changed(version: SpecificAccount, who: Who, previous: SpecificAccount | None) -> None:
    until = (
        _(" until %(date)s") % {"date": version.end_date.strftime("%d.%m.%Y")}
        if version.end_date
        else ""
    )
    notices_queue(
        recipient=version.recipient,
        text=NoticeText(
            Notice.Kind.SPECIFIC_CHANGED,
            _("Your account for %(benefit)s has been registered")
            % {"benefit": version.benefit.name},
            [
                _(
                    "%(authority)s pays %(benefit)s to the account %(account)s%(until)s instead "
                    "of your NemKonto. The change was made by %(author)s."
                )
                % {
                    "authority": version.authority.name,
                    "benefit": version.benefit.name,
                    "account": version.masked_account,
                    "until": until,
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


def _notice_deleted(version: SpecificAccount, who: Who) -> None:
    notices_queue(
        recipient=version.recipient,
        text=NoticeText(
            Notice.Kind.SPECIFIC_DELETED,
            _("Your account for %(benefit)s has been removed") % {"benefit": version.benefit.name},
            [
                _(
                    "%(authority)s no longer pays %(benefit)s to the account %(account)s: from "
                    "now on it goes to your NemKonto. The change was made by %(author)s."
                )
                % {
                    "authority": version.authority.name,
                    "benefit": version.benefit.name,
                    "account": version.masked_account,
                    "author": notice_texts_author(who),
                }
            ],
        ),
        old_account=version.stored_account,
        who=who,
    )


def _current(version: SpecificAccount) -> SpecificAccount:
    """The version as it is now, after locking the recipient; Conflict if it has ended since."""
    recipient_lock(version.recipient)
    fresh = SpecificAccount.objects.select_related("benefit", "authority", "recipient").get(
        pk=version.pk
    )
    if fresh.state != State.ACTIVE:
        raise Conflict(
            _("The specific account has been changed or deleted meanwhile; reload it."),
            code="stale",
        )
    return fresh


def _who_may_change(actor: User, version: SpecificAccount) -> Who:
    """Who the actor acts as on this version; raises PermissionDenied.

    The authority's caseworkers always may; the citizen owner only when it is unlocked;
    businesses never (DOMAIN.md section 5).
    """
    if is_employee(actor):
        if actor.authority_id == version.authority_id and may_maintain_specific_accounts(actor):
            return who_user(actor, Channel.CASEWORKER, authority=version.authority)
        raise PermissionDenied(
            _("Only the paying authority's caseworkers can change its specific accounts."),
            code="not_permitted",
        )
    recipient = require_citizen(actor)
    if recipient.pk != version.recipient_id:
        raise PermissionDenied(_("This is not your specific account."), code="not_permitted")
    if version.locked:
        raise PermissionDenied(
            _(
                "The specific account is locked by %(authority)s: only the authority can change "
                "or delete it."
            )
            % {"authority": version.authority.name},
            code="locked",
        )
    return who_user(actor, Channel.CITIZEN)


@transaction.atomic
def specific_account_create(
    *,
    actor: User,
    id_type: str,
    id_number: str,
    benefit_code: str,
    account: dict[str, str],
    locked: bool = False,
    end_date: datetime.date | None = None,
) -> SpecificAccount:
    """A caseworker creates a specific account for one of the authority's benefits, at once.

    Raises PermissionDenied (no specific-accounts function in the authority), ValidationFailed
    (ID, account, end date), NotFound (not in the register; unknown benefit), Conflict (one
    exists already: change it instead).
    """
    _require_caseworker(actor)
    recipient = recipient_find(id_type, id_number)
    benefit = _benefit(actor, benefit_code)
    stored = account_from_input(account)
    _check_end_date(end_date)
    recipient = recipient_lock(recipient)
    if SpecificAccount.objects.filter(
        recipient=recipient, benefit=benefit, state=State.ACTIVE
    ).exists():
        raise Conflict(
            _("The recipient already has a specific account for this benefit: change it instead."),
            field="benefit",
            code="exists",
        )
    who = who_user(actor, Channel.CASEWORKER, authority=benefit.authority)
    version = _write(recipient, benefit, stored, locked=locked, end_date=end_date, who=who)
    _audit(who, "specific_account.create", version)
    _notice_changed(version, who, None)
    return version


def _write(
    recipient: Recipient,
    benefit: Benefit,
    account: StoredAccount,
    *,
    locked: bool,
    end_date: datetime.date | None,
    who: Who,
    at: datetime.datetime | None = None,
) -> SpecificAccount:
    version = SpecificAccount(
        recipient=recipient,
        authority=benefit.authority,
        benefit=benefit,
        locked=locked,
        end_date=end_date,
        state=State.ACTIVE,
        channel=who.channel,
        actor=who.user,
        actor_label=who.label,
        created_at=at or timezone.now(),
    )
    version.set_account(account)
    version.save()
    accounts_changed([recipient.pk])
    return version


@transaction.atomic
def specific_account_update(
    *,
    actor: User,
    specific_account: SpecificAccount,
    account: dict[str, str] | None = None,
    locked: bool | None = None,
    end_date: Any = UNSET,
) -> SpecificAccount:
    """Change a specific account (a new version replaces the current one).

    The authority's caseworker may change the account, the lock and the end date; the citizen
    owner only the account, and only while unlocked. Raises PermissionDenied, ValidationFailed,
    Conflict (changed meanwhile).
    """
    version = _current(specific_account)
    who = _who_may_change(actor, version)
    if who.channel == Channel.CITIZEN and (locked is not None or end_date is not UNSET):
        raise PermissionDenied(
            _("Only the authority can lock a specific account or set its end date."),
            field="locked" if locked is not None else "end_date",
            code="authority_only",
        )
    stored = account_from_input(account) if account is not None else version.stored_account
    new_locked = version.locked if locked is None else locked
    new_end = version.end_date if end_date is UNSET else end_date
    if end_date is not UNSET:
        _check_end_date(new_end)
    if (stored, new_locked, new_end) == (version.stored_account, version.locked, version.end_date):
        return version
    now = timezone.now()
    version_end(version, state=State.ENDED, who=who, at=now, reason=EndReason.REPLACED)
    new = _write(
        version.recipient,
        version.benefit,
        stored,
        locked=new_locked,
        end_date=new_end,
        who=who,
        at=now,
    )
    _audit(who, "specific_account.change", new, previous=version.pk)
    _notice_changed(new, who, version)
    return new


@transaction.atomic
def specific_account_delete(*, actor: User, specific_account: SpecificAccount) -> SpecificAccount:
    """Delete a specific account (payments of the benefit go to the NemKonto again).

    Same permissions as changing. Returns the ended version. Raises PermissionDenied, Conflict.
    """
    version = _current(specific_account)
    who = _who_may_change(actor, version)
    version_end(version, state=State.ENDED, who=who, at=timezone.now(), reason=EndReason.DELETED)
    _audit(who, "specific_account.delete", version)
    accounts_changed([version.recipient_id])
    _notice_deleted(version, who)
    return version


@transaction.atomic
def specific_accounts_expire(*, today: datetime.date | None = None) -> int:
    """End every specific account whose end date has passed (periodic); returns how many.

    One UPDATE for all; the audit records and notices are written in bulk.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    expired_ids = list(
        SpecificAccount.objects.filter(state=State.ACTIVE, end_date__lt=today)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not expired_ids:
        return 0
    SpecificAccount.objects.filter(pk__in=expired_ids).update(
        state=State.ENDED,
        ended_at=now,
        end_reason=EndReason.EXPIRED,
        ended_by=None,
        ended_by_label="system",
        ended_channel=Channel.SYSTEM,
    )
    versions = list(
        SpecificAccount.objects.filter(pk__in=expired_ids).select_related(
            "recipient", "authority", "benefit"
        )
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=None,
            actor_label="system",
            action="specific_account.expire",
            target_type=SpecificAccount._meta.label,
            target_id=str(version.pk),
            authority=version.authority,
            data={
                "recipient": version.recipient_id,
                "benefit": version.benefit.code,
                "channel": Channel.SYSTEM,
                "end_date": version.end_date.isoformat() if version.end_date else None,
            },
        )
        for version in versions
    )
    who = Who(channel=Channel.SYSTEM, label="system")
    for version in versions:
        _notice_deleted(version, who)
    accounts_changed(version.recipient_id for version in versions)
    return len(versions)
