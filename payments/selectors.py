"""Reads for benefits, agreements and readiness, scoped to the actor (ARCHITECTURE.md section 2).

Benefits, agreements and the readiness checklist belong to the authority as a whole, not to one
LOS unit, so the scope questions here are "which authority" and "which function anywhere in it":

- operators (staff of the NemKonto service) see and manage every authority;
- a caseworker maintains the benefits with the benefits function on any unit of the authority;
- authority-wide settings (failure choice, readiness) need a local administrator whose grants
  cover every open unit of the authority, not just a branch of the tree.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import Authority, LosUnit, User
from accounts.selectors import is_operator, units_for
from nemkonto.errors import NotFound
from payments.models import BankAgreement, Benefit, ConnectionAgreement

Actor = User | AnonymousUser | None


def is_employee_of(user: Actor, authority: Authority) -> bool:
    """Whether the user is an active employee of ``authority``."""
    return (
        isinstance(user, User)
        and user.is_active
        and user.kind == User.Kind.EMPLOYEE
        and user.authority_id == authority.pk
    )


def _covers_authority(user: User, authority: Authority, function: Function) -> bool:
    """Whether the user holds ``function`` on every open unit of the authority."""
    open_units = LosUnit.objects.filter(authority=authority, closed_at__isnull=True)
    scope = units_for(user=user, function=function)
    return open_units.exists() and not open_units.exclude(pk__in=scope).exists()


def is_local_admin_of(*, user: Actor, authority: Authority) -> bool:
    """Whether the user administers the whole authority: local administration on every open unit.

    A local administrator of one branch of the tree may not change what applies to the whole
    authority (the failure choice of its agreements, its readiness statements).
    """
    if not isinstance(user, User) or not is_employee_of(user, authority):
        return False
    return _covers_authority(user, authority, Function.LOCAL_ADMINISTRATION)


def can_maintain_benefits(*, user: Actor, authority: Authority) -> bool:
    """Operators, and caseworkers with the benefits function on the whole authority.

    Benefits belong to the authority, not to a unit: a profile on one branch of the tree (a
    sibling of the units it would pay from) does not let a caseworker change them.
    """
    if is_operator(user):
        return True
    if not isinstance(user, User) or not is_employee_of(user, authority):
        return False
    return _covers_authority(user, authority, Function.MAINTAIN_BENEFITS)


def authority_get(*, actor: Actor, code: str) -> Authority:
    """The authority with ``code`` if the actor belongs to it or is an operator; else NotFound."""
    authority = Authority.objects.filter(code=code).first()
    if authority is None or not (is_operator(actor) or is_employee_of(actor, authority)):
        raise NotFound(_("There is no authority %(code)s.") % {"code": code})
    return authority


def benefit_list(*, actor: Actor, authority: Authority) -> QuerySet[Benefit]:
    """The authority's benefits: for its employees and operators."""
    if not (is_operator(actor) or is_employee_of(actor, authority)):
        return Benefit.objects.none()
    return Benefit.objects.filter(authority=authority).order_by("code")


def benefit_get(*, actor: Actor, authority: Authority, code: str) -> Benefit:
    benefit = benefit_list(actor=actor, authority=authority).filter(code=code).first()
    if benefit is None:
        raise NotFound(_("The authority has no benefit %(code)s.") % {"code": code})
    return benefit


def agreement_list(*, actor: Actor, authority: Authority) -> QuerySet[ConnectionAgreement]:
    """The authority's connection agreements: for its local administrator and operators."""
    if not (is_operator(actor) or is_local_admin_of(user=actor, authority=authority)):
        return ConnectionAgreement.objects.none()
    return (
        ConnectionAgreement.objects.filter(authority=authority)
        .select_related("authority", "payment_system")
        .order_by("payment_system__code")
    )


def agreement_get(*, actor: Actor, authority: Authority, system_code: str) -> ConnectionAgreement:
    agreement = (
        agreement_list(actor=actor, authority=authority)
        .filter(payment_system__code=system_code)
        .first()
    )
    if agreement is None:
        raise NotFound(
            _("The authority has no connection agreement with %(system)s.")
            % {"system": system_code}
        )
    return agreement


def agreement_history(*, agreement: ConnectionAgreement) -> list[dict[str, Any]]:
    """The agreement's recorded states, oldest first, with the user who caused each change."""
    event_model = apps.get_model("payments", "ConnectionAgreementEvent")
    events = list(
        event_model.objects.filter(pgh_obj_id=agreement.pk)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    metadata = {
        event.pgh_id: (event.pgh_context.metadata if event.pgh_context_id else {})
        for event in events
    }
    actor_ids = {m["user"] for m in metadata.values() if m.get("user") is not None}
    users = {user.pk: user.get_username() for user in User.objects.filter(pk__in=actor_ids)}
    return [
        {
            "at": event.pgh_created_at,
            "event": event.pgh_label,
            "action": metadata[event.pgh_id].get("action", ""),
            "by": _changed_by(metadata[event.pgh_id], users),
            "status": event.status,
            "failure_choice": event.failure_choice,
            "waiting_fallback": event.waiting_fallback,
            "error_account_reg": event.error_account_reg,
            "error_account_number": event.error_account_number,
        }
        for event in events
    ]


def _changed_by(metadata: dict[str, Any], users: dict[int, str]) -> str:
    """The username behind a change; "system" for the command line, "" when nobody is known."""
    if metadata.get("user") is not None:
        return users.get(metadata["user"], "")
    return "system" if metadata.get("action") else ""


def bank_agreement_list(*, authority: Authority) -> QuerySet[BankAgreement]:
    return (
        BankAgreement.objects.filter(authority=authority)
        .select_related("bank")
        .prefetch_related("disbursement_accounts")
        .order_by("number")
    )
