"""The readiness checklist of an authority: the guide's items 1.1 to 1.11 (DOMAIN.md section 7).

Items the data can tell are computed (agreement active, bank agreement known, users holding the
profiles); the others are met once the authority's local administrator has confirmed them
(``payments.services.readiness_confirm``). Every item comes with a reason a person can act on.
"""

from dataclasses import asdict, dataclass
from typing import Any, Literal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.functions import Function
from accounts.models import Authority, LosUnitUserObjectPermission, User
from accounts.role_profiles import STANDARD_PROFILES
from payments.models import (
    BankAgreement,
    Benefit,
    ConnectionAgreement,
    ReadinessConfirmation,
    ReadinessItemCode,
)

Item = ReadinessItemCode

# Confirmed by the local administrator: nothing in the data can tell these.
MANUAL_ITEMS: frozenset[ReadinessItemCode] = frozenset(
    {
        Item.RECIPIENT_IDS,
        Item.CUT_OFF,
        Item.RETURN_ANSWERS,
        Item.RETURNED_PAYMENTS,
        Item.MISSING_MONEY,
        Item.LETTERS,
        Item.INFORMED,
    }
)

# The functions someone at the authority must hold for 1.3 (users and profiles) and 1.6
# (reporting NemKonti and specific accounts).
USER_FUNCTIONS: tuple[Function, ...] = (
    Function.LOCAL_ADMINISTRATION,
    Function.UPDATE_NEMKONTO,
    Function.SEARCH_PENDING_PAYMENTS,
)
REPORTING_FUNCTIONS: tuple[Function, ...] = (
    Function.UPDATE_NEMKONTO,
    Function.UPDATE_SPECIFIC_ACCOUNTS,
)


@dataclass(frozen=True)
class ReadinessItem:
    item: str
    title: str
    met: bool
    how: Literal["data", "confirmed"]
    why: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _profile_name(function: Function) -> str:
    """The standard profile that gives ``function`` (the name caseworkers know it by)."""
    for profile in STANDARD_PROFILES:
        if profile.functions == (function,):
            return profile.name
    return str(function.label)


def _date(value: Any) -> str:
    return timezone.localdate(value).isoformat()


def _agreement_item(authority: Authority) -> ReadinessItem:
    agreements = list(
        ConnectionAgreement.objects.filter(authority=authority)
        .exclude(status=ConnectionAgreement.Status.TERMINATED)
        .select_related("payment_system")
        .order_by("payment_system__name")
    )
    active = [a for a in agreements if a.status == ConnectionAgreement.Status.ACTIVE]
    pending = [a for a in agreements if a.status != ConnectionAgreement.Status.ACTIVE]
    reasons = [
        _("Agreement with %(system)s is active since %(date)s.")
        % {"system": a.payment_system.name, "date": _date(a.activated_at)}
        for a in active
    ]
    reasons += [
        _("Agreement with %(system)s is %(status)s, not active.")
        % {"system": a.payment_system.name, "status": a.get_status_display().lower()}
        for a in pending
    ]
    if not agreements:
        reasons.append(_("No connection agreement with any payment system."))
    benefits = Benefit.objects.filter(authority=authority, is_active=True).count()
    if benefits:
        reasons.append(
            ngettext(
                "%(count)d active benefit is defined.",
                "%(count)d active benefits are defined.",
                benefits,
            )
            % {"count": benefits}
        )
    else:
        reasons.append(_("No active benefit is defined: every payment needs a benefit code."))
    return ReadinessItem(
        item=Item.AGREEMENT.value,
        title=str(Item.AGREEMENT.label),
        met=bool(active) and benefits > 0,
        how="data",
        why=" ".join(reasons),
    )


def _bank_agreement_item(authority: Authority) -> ReadinessItem:
    agreements = list(
        BankAgreement.objects.filter(authority=authority).select_related("bank").order_by("number")
    )
    if not agreements:
        why = _("No bank agreement is recorded: payments cannot carry a bank agreement number.")
    else:
        why = " ".join(
            _("Bank agreement %(number)s with %(bank)s; pays via NemKonto from %(date)s.")
            % {"number": a.number, "bank": a.bank.name, "date": a.pays_from.isoformat()}
            for a in agreements
        )
    return ReadinessItem(
        item=Item.BANK_AGREEMENT.value,
        title=str(Item.BANK_AGREEMENT.label),
        met=bool(agreements),
        how="data",
        why=why,
    )


def _holders(authority: Authority, functions: tuple[Function, ...]) -> dict[str, int]:
    """How many active employees of the authority hold each function on one of its units."""
    rows = (
        LosUnitUserObjectPermission.objects.filter(
            content_object__authority=authority,
            content_object__closed_at__isnull=True,
            user__authority=authority,
            user__kind=User.Kind.EMPLOYEE,
            user__is_active=True,
            permission__content_type__app_label="accounts",
            permission__codename__in=[f.value for f in functions],
        )
        .values("permission__codename")
        .annotate(users=Count("user", distinct=True))
    )
    return {row["permission__codename"]: row["users"] for row in rows}


def _users_item(
    item: ReadinessItemCode, functions: tuple[Function, ...], holders: dict[str, int]
) -> ReadinessItem:
    missing = [f for f in functions if not holders.get(f.value)]
    if missing:
        why = " ".join(
            _("No user has the profile %(profile)s (%(function)s).")
            % {"profile": _profile_name(f), "function": f.label}
            for f in missing
        )
    else:
        why = " ".join(
            ngettext(
                "%(count)d user has the profile %(profile)s.",
                "%(count)d users have the profile %(profile)s.",
                holders[f.value],
            )
            % {"count": holders[f.value], "profile": _profile_name(f)}
            for f in functions
        )
    return ReadinessItem(
        item=item.value, title=str(item.label), met=not missing, how="data", why=why
    )


def _confirmed_item(
    item: ReadinessItemCode, confirmation: ReadinessConfirmation | None
) -> ReadinessItem:
    if confirmation is None:
        why = _("Not confirmed by the local administrator yet.")
    else:
        who = confirmation.confirmed_by.get_full_name() or confirmation.confirmed_by.get_username()
        why = _("Confirmed by %(who)s on %(date)s.") % {
            "who": who,
            "date": _date(confirmation.confirmed_at),
        }
        if confirmation.note:
            why = f"{why} {confirmation.note}"
    return ReadinessItem(
        item=item.value,
        title=str(item.label),
        met=confirmation is not None,
        how="confirmed",
        why=why,
    )


def readiness_for(authority: Authority) -> list[ReadinessItem]:
    """The checklist of ``authority``, items 1.1 to 1.11 in order, each met or not and why.

    Not scoped: callers decide who may see it (the authority's local administrator, operators).
    """
    holders = _holders(authority, tuple(dict.fromkeys(USER_FUNCTIONS + REPORTING_FUNCTIONS)))
    confirmations = {
        c.item: c
        for c in ReadinessConfirmation.objects.filter(authority=authority).select_related(
            "confirmed_by"
        )
    }
    items: list[ReadinessItem] = []
    for item in ReadinessItemCode:
        if item == Item.AGREEMENT:
            items.append(_agreement_item(authority))
        elif item == Item.BANK_AGREEMENT:
            items.append(_bank_agreement_item(authority))
        elif item == Item.USERS:
            items.append(_users_item(item, USER_FUNCTIONS, holders))
        elif item == Item.REPORTING:
            items.append(_users_item(item, REPORTING_FUNCTIONS, holders))
        else:
            items.append(_confirmed_item(item, confirmations.get(item.value)))
    return items


def readiness_summary(items: list[ReadinessItem]) -> dict[str, int]:
    return {"met": sum(i.met for i in items), "total": len(items)}
