"""Every read of the registry, scoped to the actor (ARCHITECTURE.md section 2), and the
resolution of "which account does a payment go to, and why" (DOMAIN.md sections 4 and 5).

A version applies from its start (``activated_at`` for a NemKonto, ``created_at`` for a specific
account) until ``ended_at``; a time-limited specific account also only up to its end date.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import Authority, User
from accounts.selectors import is_operator, units_for
from nemkonto.errors import NotFound, PermissionDenied
from payments.models import Benefit
from registry.models import (
    ActivationLetter,
    LookupLog,
    NemKonto,
    Recipient,
    SpecificAccount,
    StoredAccount,
)
from registry.services.common import is_employee, own_recipient
from registry.services.lookups import cpr_hash
from registry.services.specific import may_maintain_specific_accounts

# --- Resolution ---------------------------------------------------------------------------------


class ResolutionKind:
    SPECIFIC = "specific"
    NEMKONTO = "nemkonto"
    PENDING = "pending"
    NONE = "none"


@dataclass(frozen=True)
class Resolution:
    """The account a payment would be attached to at a moment, and why.

    ``kind`` is specific, nemkonto, pending (only a change waiting for activation or review:
    nothing to pay to yet) or none. ``reason_code`` is stable for machines, ``reason`` is for
    people. ``version_id`` is the version used (or waiting, for pending).
    """

    kind: str
    account: StoredAccount | None
    reason_code: str
    reason: str
    version_id: int | None


def _in_force_at(at: datetime.datetime, start: str) -> Q:
    return Q(**{f"{start}__lte": at}) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))


def _nemkonto_waiting(at: datetime.datetime) -> Q:
    """A version waiting (for activation or review) at ``at``: from its registration until it was
    activated or cancelled. Never in force at the same moment (activated later, or not at all)."""
    return Q(created_at__lte=at) & (
        Q(activated_at__gt=at)
        | Q(activated_at__isnull=True, ended_at__isnull=True)
        | Q(activated_at__isnull=True, ended_at__gt=at)
    )


def nemkonto_at(*, recipient: Recipient, at: datetime.datetime | None = None) -> NemKonto | None:
    """The NemKonto version in force at ``at`` (now by default), or None."""
    at = at or timezone.now()
    return (
        NemKonto.objects.filter(recipient=recipient)
        .filter(_in_force_at(at, "activated_at"))
        .order_by("-activated_at", "-id")
        .first()
    )


def nemkonto_waiting_at(
    *, recipient: Recipient, at: datetime.datetime | None = None
) -> NemKonto | None:
    """The change that was waiting (for activation or review) at ``at``, if any: a version is
    waiting from its registration until it was activated or cancelled."""
    at = at or timezone.now()
    return (
        NemKonto.objects.filter(recipient=recipient)
        .filter(_nemkonto_waiting(at))
        .order_by("-created_at", "-id")
        .first()
    )


def nemkonto_in_force_and_waiting_at(
    *, recipient: Recipient, at: datetime.datetime
) -> tuple[NemKonto | None, NemKonto | None]:
    """``nemkonto_at`` and ``nemkonto_waiting_at`` in one query (each look-up needs both)."""
    versions = list(
        NemKonto.objects.filter(recipient=recipient).filter(
            _in_force_at(at, "activated_at") | _nemkonto_waiting(at)
        )
    )
    in_force = [v for v in versions if v.activated_at is not None and v.activated_at <= at]
    waiting = [v for v in versions if v not in in_force]
    return (
        max(in_force, key=lambda v: (v.activated_at, v.pk), default=None),
        max(waiting, key=lambda v: (v.created_at, v.pk), default=None),
    )


def specific_account_at(
    *,
    recipient: Recipient,
    authority: Authority,
    benefit: Benefit,
    at: datetime.datetime | None = None,
) -> SpecificAccount | None:
    """The specific account for (recipient, authority, benefit) in force at ``at``, or None."""
    at = at or timezone.now()
    return (
        SpecificAccount.objects.filter(recipient=recipient, authority=authority, benefit=benefit)
        .filter(_in_force_at(at, "created_at"))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=timezone.localdate(at)))
        .order_by("-created_at", "-id")
        .first()
    )


def account_resolve(
    *,
    recipient: Recipient,
    authority: Authority | None = None,
    benefit: Benefit | None = None,
    at: datetime.datetime | None = None,
) -> Resolution:
    """Which account a payment from ``authority`` for ``benefit`` to ``recipient`` goes to at
    ``at`` (now by default): a live specific account wins over the NemKonto (DOMAIN.md 5)."""
    at = at or timezone.now()
    if benefit is not None:
        authority = authority or benefit.authority
        if benefit.authority_id == authority.pk:
            specific = specific_account_at(
                recipient=recipient, authority=authority, benefit=benefit, at=at
            )
            if specific is not None:
                until = (
                    _(" until %(date)s") % {"date": specific.end_date.isoformat()}
                    if specific.end_date
                    else ""
                )
                return Resolution(
                    kind=ResolutionKind.SPECIFIC,
                    account=specific.stored_account,
                    reason_code="specific_account",
                    reason=_(
                        "A specific account for the benefit %(benefit)s applies%(until)s; it "
                        "takes precedence over the NemKonto."
                    )
                    % {"benefit": benefit.code, "until": until},
                    version_id=specific.pk,
                )
    current, waiting = nemkonto_in_force_and_waiting_at(recipient=recipient, at=at)
    if current is not None:
        reason = _("The recipient's NemKonto applies (registered through %(channel)s).") % {
            "channel": current.get_channel_display()
        }
        if waiting is not None:
            reason += " " + _(
                "A change is waiting for activation or review and is not used until then."
            )
        return Resolution(
            kind=ResolutionKind.NEMKONTO,
            account=current.stored_account,
            reason_code="nemkonto_change_waiting" if waiting is not None else "nemkonto",
            reason=reason,
            version_id=current.pk,
        )
    if waiting is not None:
        # Only caseworkers' changes wait for a code; any other waiting change is held for review.
        held = waiting.state == NemKonto.State.HELD or waiting.channel != "caseworker"
        return Resolution(
            kind=ResolutionKind.PENDING,
            account=None,
            reason_code="held_for_review" if held else "pending_activation",
            reason=(
                _("The only NemKonto is held for review and cannot be used yet.")
                if held
                else _(
                    "The only NemKonto is a caseworker's change waiting for the recipient's "
                    "activation code; it cannot be used yet."
                )
            ),
            version_id=waiting.pk,
        )
    ended = (
        NemKonto.objects.filter(recipient=recipient, ended_at__lte=at, activated_at__isnull=False)
        .order_by("-ended_at")
        .first()
    )
    if ended is not None and ended.end_reason == NemKonto.EndReason.DELETED:
        return Resolution(
            kind=ResolutionKind.NONE,
            account=None,
            reason_code="nemkonto_deleted",
            reason=_("The recipient deleted their NemKonto on %(date)s and has none now.")
            % {"date": timezone.localdate(ended.ended_at).isoformat()},
            version_id=None,
        )
    return Resolution(
        kind=ResolutionKind.NONE,
        account=None,
        reason_code="no_nemkonto",
        reason=_("The recipient has no NemKonto and no specific account for this benefit."),
        version_id=None,
    )


# --- History ------------------------------------------------------------------------------------


def nemkonto_history(*, recipient: Recipient) -> QuerySet[NemKonto]:
    """Every version of the recipient's NemKonto, newest first (who, when, channel, state)."""
    return (
        NemKonto.objects.filter(recipient=recipient)
        .select_related("authority")
        .order_by("-created_at", "-id")
    )


def nemkonto_versions_on(*, recipient: Recipient, day: datetime.date) -> QuerySet[NemKonto]:
    """The NemKonto versions in force at any moment of ``day`` (local time), oldest first:
    "which account applied on date D"."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = start + datetime.timedelta(days=1)
    return (
        NemKonto.objects.filter(recipient=recipient, activated_at__lt=end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        .order_by("activated_at", "id")
    )


def specific_account_history(
    *, recipient: Recipient, benefit: Benefit
) -> QuerySet[SpecificAccount]:
    return SpecificAccount.objects.filter(recipient=recipient, benefit=benefit).order_by(
        "-created_at", "-id"
    )


# --- Specific accounts, scoped --------------------------------------------------------------------


def _require_specific_reader(actor: User) -> None:
    if not may_maintain_specific_accounts(actor):
        raise PermissionDenied(
            _("You need the role profile for specific accounts (NKS-Opdater-SpecKonto)."),
            code="not_permitted",
        )


def specific_account_list(
    *, actor: User, recipient: Recipient | None = None
) -> QuerySet[SpecificAccount]:
    """Live specific accounts the actor may see: the authority's own for its caseworkers with the
    specific-accounts function, the recipient's own for a citizen or business login."""
    accounts = SpecificAccount.objects.filter(state=SpecificAccount.State.ACTIVE).select_related(
        "recipient", "authority", "benefit"
    )
    if is_employee(actor):
        _require_specific_reader(actor)
        accounts = accounts.filter(authority=actor.authority)
    else:
        accounts = accounts.filter(recipient=own_recipient(actor))
    if recipient is not None:
        accounts = accounts.filter(recipient=recipient)
    return accounts.order_by("authority__code", "benefit__code", "id")


def specific_accounts_of_me(*, actor: User) -> QuerySet[SpecificAccount]:
    """The logged-in citizen's or business's own live specific accounts (any authority)."""
    return (
        SpecificAccount.objects.filter(
            state=SpecificAccount.State.ACTIVE, recipient=own_recipient(actor)
        )
        .select_related("recipient", "authority", "benefit")
        .order_by("authority__code", "benefit__code", "id")
    )


def specific_account_get_for_caseworker(
    *, actor: User, recipient: Recipient, benefit_code: str
) -> SpecificAccount:
    """The authority's live specific account for the recipient and benefit; NotFound otherwise."""
    found = (
        specific_account_list(actor=actor, recipient=recipient)
        .filter(benefit__code=benefit_code)
        .first()
    )
    if found is None:
        raise NotFound(
            _("There is no specific account for this recipient and benefit."), code="not_found"
        )
    return found


def specific_account_get_own(
    *, actor: User, authority_code: str, benefit_code: str
) -> SpecificAccount:
    """The logged-in recipient's own live specific account; NotFound otherwise."""
    found = (
        SpecificAccount.objects.filter(
            state=SpecificAccount.State.ACTIVE,
            recipient=own_recipient(actor),
            authority__code=authority_code,
            benefit__code=benefit_code,
        )
        .select_related("recipient", "authority", "benefit")
        .first()
    )
    if found is None:
        raise NotFound(_("You have no such specific account."), code="not_found")
    return found


# --- The citizen's own view ---------------------------------------------------------------------


def lookups_of_me(*, actor: User) -> QuerySet[LookupLog]:
    """Who looked the logged-in person up by their CPR number, newest first."""
    recipient = own_recipient(actor)
    if recipient.id_type != "CPR":
        return LookupLog.objects.none()
    return (
        LookupLog.objects.filter(id_hash=cpr_hash(recipient.id_number))
        .select_related("authority")
        .order_by("-at", "-id")
    )


@dataclass(frozen=True)
class ChangeEvent:
    at: datetime.datetime
    object: str
    event: str
    channel: str
    by: str
    authority: str | None
    benefit: str | None
    account: str
    version: int


def _nemkonto_events(versions: Any) -> list[ChangeEvent]:
    events = []
    for v in versions:
        authority = v.authority.name if v.authority else None
        events.append(
            ChangeEvent(
                v.created_at,
                "nemkonto",
                "changed" if v.activated_at == v.created_at else "requested",
                v.channel,
                v.actor_label,
                authority,
                None,
                v.masked_account,
                v.pk,
            )
        )
        if v.activated_at is not None and v.activated_at != v.created_at:
            events.append(
                ChangeEvent(
                    v.activated_at,
                    "nemkonto",
                    "activated",
                    v.channel,
                    v.actor_label,
                    authority,
                    None,
                    v.masked_account,
                    v.pk,
                )
            )
        if v.ended_at is not None and v.end_reason != NemKonto.EndReason.REPLACED:
            events.append(
                ChangeEvent(
                    v.ended_at,
                    "nemkonto",
                    "deleted" if v.end_reason == NemKonto.EndReason.DELETED else "cancelled",
                    v.ended_channel,
                    v.ended_by_label,
                    authority if v.ended_channel == "caseworker" else None,
                    None,
                    v.masked_account,
                    v.pk,
                )
            )
    return events


def _specific_events(versions: Any) -> list[ChangeEvent]:
    events = []
    for v in versions:
        events.append(
            ChangeEvent(
                v.created_at,
                "specific_account",
                "changed" if getattr(v, "has_previous", False) else "created",
                v.channel,
                v.actor_label,
                v.authority.name,
                v.benefit.code,
                v.masked_account,
                v.pk,
            )
        )
        if v.ended_at is not None and v.end_reason != SpecificAccount.EndReason.REPLACED:
            events.append(
                ChangeEvent(
                    v.ended_at,
                    "specific_account",
                    str(v.end_reason),
                    v.ended_channel,
                    v.ended_by_label,
                    v.authority.name,
                    v.benefit.code,
                    v.masked_account,
                    v.pk,
                )
            )
    return events


def _with_previous(versions: QuerySet[SpecificAccount]) -> QuerySet[SpecificAccount]:
    earlier = SpecificAccount.objects.filter(
        recipient_id=OuterRef("recipient_id"),
        benefit_id=OuterRef("benefit_id"),
        created_at__lt=OuterRef("created_at"),
    )
    return versions.annotate(has_previous=Exists(earlier))


def changes_of_me(*, actor: User, limit: int = 500) -> list[ChangeEvent]:
    """Every change of the logged-in recipient's NemKonto and specific accounts, newest first."""
    recipient = own_recipient(actor)
    nemkonti = NemKonto.objects.filter(recipient=recipient).select_related("authority")
    specific = _with_previous(
        SpecificAccount.objects.filter(recipient=recipient).select_related("authority", "benefit")
    )
    events = _nemkonto_events(nemkonti[:limit]) + _specific_events(specific[:limit])
    return sorted(events, key=lambda e: (e.at, e.version), reverse=True)[:limit]


# --- Control lists ------------------------------------------------------------------------------


def control_list_authority(*, actor: User, code: str) -> Authority:
    """The authority whose control list the actor may export: operators, and the authority's own
    local administrators. NotFound for strangers, PermissionDenied for other employees."""
    authority = Authority.objects.filter(code=code).first()
    if authority is None or not (
        is_operator(actor) or (is_employee(actor) and actor.authority_id == authority.pk)
    ):
        raise NotFound(_("There is no authority %(code)s.") % {"code": code}, code="not_found")
    if (
        not is_operator(actor)
        and not units_for(user=actor, function=Function.LOCAL_ADMINISTRATION).exists()
    ):
        raise PermissionDenied(
            _("Control lists are for the authority's local administrators."),
            code="not_permitted",
        )
    return authority


@dataclass(frozen=True)
class ControlRow:
    at: datetime.datetime
    object: str
    event: str
    recipient_type: str
    recipient_id: str
    benefit: str
    account: str
    locked: str
    end_date: str
    channel: str
    by: str
    version: int


def _nemkonto_row(
    v: NemKonto, at: datetime.datetime, event: str, channel: str, by: str
) -> ControlRow:
    return ControlRow(
        at=at,
        object="nemkonto",
        event=event,
        recipient_type=v.recipient.id_type,
        recipient_id=v.recipient.id_number,
        benefit="",
        account=v.masked_account,
        locked="",
        end_date="",
        channel=channel,
        by=by,
        version=v.pk,
    )


def _specific_row(
    s: SpecificAccount, at: datetime.datetime, event: str, channel: str, by: str
) -> ControlRow:
    return ControlRow(
        at=at,
        object="specific_account",
        event=event,
        recipient_type=s.recipient.id_type,
        recipient_id=s.recipient.id_number,
        benefit=s.benefit.code,
        account=s.masked_account,
        locked="yes" if s.locked else "no",
        end_date=s.end_date.isoformat() if s.end_date else "",
        channel=channel,
        by=by,
        version=s.pk,
    )


def control_list(
    *, authority: Authority, date_from: datetime.date, date_to: datetime.date
) -> list[ControlRow]:
    """Every change of the period (dates inclusive, local time) made by the authority's
    caseworkers, or to its specific accounts: the *kontrolliste*, oldest first."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(date_to, datetime.time.min, tzinfo=tz) + datetime.timedelta(
        days=1
    )

    def within(field: str) -> Q:
        return Q(**{f"{field}__gte": start, f"{field}__lt": end})

    def inside(moment: datetime.datetime | None) -> bool:
        return moment is not None and start <= moment < end

    rows: list[ControlRow] = []
    nemkonti = (
        NemKonto.objects.filter(authority=authority)
        .filter(within("created_at") | within("activated_at") | within("ended_at"))
        .select_related("recipient")
    )
    for v in nemkonti:
        if inside(v.created_at):
            rows.append(_nemkonto_row(v, v.created_at, "requested", v.channel, v.actor_label))
        if v.activated_at is not None and inside(v.activated_at):
            rows.append(_nemkonto_row(v, v.activated_at, "activated", "activation", "recipient"))
        if v.ended_at is not None and v.activated_at is None and inside(v.ended_at):
            rows.append(
                _nemkonto_row(
                    v, v.ended_at, f"cancelled:{v.end_reason}", v.ended_channel, v.ended_by_label
                )
            )
    specific = _with_previous(
        SpecificAccount.objects.filter(authority=authority)
        .filter(within("created_at") | within("ended_at"))
        .select_related("recipient", "benefit")
    )
    for s in specific:
        if inside(s.created_at):
            event = "changed" if getattr(s, "has_previous", False) else "created"
            rows.append(_specific_row(s, s.created_at, event, s.channel, s.actor_label))
        if (
            s.ended_at is not None
            and s.end_reason != SpecificAccount.EndReason.REPLACED
            and inside(s.ended_at)
        ):
            rows.append(
                _specific_row(s, s.ended_at, str(s.end_reason), s.ended_channel, s.ended_by_label)
            )
    return sorted(rows, key=lambda r: (r.at, r.version))


# --- Letters ------------------------------------------------------------------------------------


def _require_operator(actor: Any) -> None:
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service handle the letters."), code="operator_only"
        )


def letter_list(*, actor: User, status: str | None = None) -> QuerySet[ActivationLetter]:
    """Activation letters for the print list (operators only), oldest first."""
    _require_operator(actor)
    letters = ActivationLetter.objects.select_related(
        "nemkonto", "nemkonto__authority", "nemkonto__recipient"
    )
    if status:
        letters = letters.filter(status=status)
    return letters.order_by("created_at", "id")


def letter_get(*, actor: User, letter_id: int) -> ActivationLetter:
    _require_operator(actor)
    letter = ActivationLetter.objects.filter(pk=letter_id).first()
    if letter is None:
        raise NotFound(_("There is no such letter."), code="not_found")
    return letter
