"""Writes for benefits, connection and bank agreements and readiness (DOMAIN.md section 7).

Every service is atomic, checks the actor's permission itself and writes its audit record in the
same transaction (ARCHITECTURE.md section 2). ``actor=None`` is the command line (an operator at
the server's console, e.g. ``manage.py create_api_client``) and is trusted like an operator.
"""

import datetime
from collections.abc import Sequence
from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import Authority, Bank, User
from accounts.selectors import is_operator
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from payments.models import (
    BANK_AGREEMENT_NUMBER_VALIDATOR,
    CODE_VALIDATOR,
    BankAgreement,
    Benefit,
    ConnectionAgreement,
    DisbursementAccount,
    PaymentSystem,
    ReadinessConfirmation,
    ReadinessItemCode,
    error_account_normalise,
)
from payments.readiness import MANUAL_ITEMS
from payments.selectors import can_maintain_benefits, is_local_admin_of
from payments.test_script import test_script_missing
from registry.identifiers import IdentifierError, parse_danish_account

Status = ConnectionAgreement.Status


def _is_operator(actor: User | None) -> bool:
    return actor is None or is_operator(actor)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message, code="permission_denied")


def _history_context(actor: User | None, action: str) -> pghistory.context:
    """Who caused a tracked change, stored with the pghistory event."""
    return pghistory.context(user=actor.pk if actor else None, action=action)


# --- Benefits ------------------------------------------------------------------------------


def _validate_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("The code is missing."), field="code", code="required")
    if len(code) > Benefit._meta.get_field("code").max_length:  # type: ignore[operator]
        raise ValidationFailed(_("The code is too long."), field="code", code="max_length")
    try:
        CODE_VALIDATOR(code)
    except ValidationError as exc:
        raise ValidationFailed(str(exc.message), field="code", code="invalid_code") from exc
    return code


def _validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("The name is missing."), field="name", code="required")
    if len(name) > 200:
        raise ValidationFailed(_("The name is too long."), field="name", code="max_length")
    return name


@transaction.atomic
def benefit_create(
    *, actor: User | None, authority: Authority, code: str, name: str, is_active: bool = True
) -> Benefit:
    """Create a benefit of the authority; raises PermissionDenied, ValidationFailed, Conflict."""
    _require(
        actor is None or can_maintain_benefits(user=actor, authority=authority),
        _("You may not maintain the benefits of %(authority)s.") % {"authority": authority},
    )
    code, name = _validate_code(code), _validate_name(name)
    try:
        with transaction.atomic():
            benefit = Benefit.objects.create(
                authority=authority, code=code, name=name, is_active=is_active
            )
    except IntegrityError as exc:
        raise Conflict(
            _("The authority already has a benefit with the code %(code)s.") % {"code": code},
            field="code",
            code="duplicate",
        ) from exc
    audit_record(
        actor=actor,
        action="benefit.create",
        target=benefit,
        authority=authority,
        data={"code": code, "name": name, "is_active": is_active},
    )
    return benefit


@transaction.atomic
def benefit_update(
    *,
    actor: User | None,
    benefit: Benefit,
    name: str | None = None,
    is_active: bool | None = None,
) -> Benefit:
    """Rename or (de)activate a benefit (its code never changes); raises PermissionDenied,
    ValidationFailed."""
    benefit = Benefit.objects.select_for_update().select_related("authority").get(pk=benefit.pk)
    _require(
        actor is None or can_maintain_benefits(user=actor, authority=benefit.authority),
        _("You may not maintain the benefits of %(authority)s.") % {"authority": benefit.authority},
    )
    changes: dict[str, Any] = {}
    if name is not None and (new_name := _validate_name(name)) != benefit.name:
        changes["name"] = [benefit.name, new_name]
        benefit.name = new_name
    if is_active is not None and is_active != benefit.is_active:
        changes["is_active"] = [benefit.is_active, is_active]
        benefit.is_active = is_active
    if changes:
        benefit.save(update_fields=["name", "is_active", "updated_at"])
        audit_record(
            actor=actor,
            action="benefit.update",
            target=benefit,
            authority=benefit.authority,
            data={"code": benefit.code, "changes": changes},
        )
    return benefit


# --- Connection agreements -----------------------------------------------------------------


def _failure_choice(value: str) -> str:
    if value not in ConnectionAgreement.FailureChoice.values:
        raise ValidationFailed(
            _("Unknown failure choice %(value)s: use return, cheque, error_account or waiting.")
            % {"value": value},
            field="failure_choice",
            code="invalid_choice",
        )
    return value


def _waiting_fallback(value: str) -> str:
    if value not in ConnectionAgreement.WaitingFallback.values:
        raise ValidationFailed(
            _(
                "Unknown fallback %(value)s after the waiting account: use return, cheque or "
                "error_account."
            )
            % {"value": value},
            field="waiting_fallback",
            code="invalid_choice",
        )
    return value


def _new_system_code(name: str) -> str:
    base = slugify(name)[:34] or "system"
    code, n = base, 1
    while PaymentSystem.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


@transaction.atomic
def payment_system_create(
    *,
    actor: User,
    name: str,
    vendor: str = "",
    authority: Authority | None = None,
    context: dict[str, Any] | None = None,
) -> PaymentSystem:
    """A new payment system, its code made from the name (unique). Operators only; ``authority``
    and ``context`` (e.g. the connection request it came from) go into the audit event.
    Raises PermissionDenied."""
    _require(_is_operator(actor), _("Only an operator may register a payment system."))
    system = PaymentSystem.objects.create(code=_new_system_code(name), name=name, vendor=vendor)
    audit_record(
        actor=actor,
        action="payment_system.create",
        target=system,
        authority=authority,
        data={"code": system.code, "name": system.name, "vendor": system.vendor, **(context or {})},
    )
    return system


@transaction.atomic
def agreement_request(
    *,
    actor: User | None,
    authority: Authority,
    payment_system: PaymentSystem,
    failure_choice: str = ConnectionAgreement.FailureChoice.RETURN,
    error_account_reg: str = "",
    error_account_number: str = "",
    signed_at: datetime.date | None = None,
    waiting_fallback: str = ConnectionAgreement.WaitingFallback.RETURN,
    go_live_on: datetime.date | None = None,
) -> ConnectionAgreement:
    """Record the authority's request to connect a payment system (status requested), with the
    planned go-live date (``go_live_on``: real payments before it are refused; None: none).

    A terminated agreement is reopened. Raises PermissionDenied (not an operator or the
    authority's local administrator), ValidationFailed (failure choice, a go-live date in the
    past), Conflict (exists).
    """
    _require(
        _is_operator(actor) or is_local_admin_of(user=actor, authority=authority),
        _("Only an operator or the local administrator of %(authority)s may request an agreement.")
        % {"authority": authority},
    )
    choice = _failure_choice(failure_choice)
    fallback = _waiting_fallback(waiting_fallback)
    reg, number = error_account_normalise(
        choice, error_account_reg, error_account_number, waiting_fallback=fallback
    )
    if go_live_on is not None and go_live_on < timezone.localdate():
        raise ValidationFailed(
            _("The go-live date cannot be in the past."), field="go_live_on", code="in_the_past"
        )
    existing = (
        ConnectionAgreement.objects.select_for_update()
        .filter(authority=authority, payment_system=payment_system)
        .first()
    )
    if existing is not None and existing.status != Status.TERMINATED:
        raise Conflict(
            _("%(authority)s already has an agreement with %(system)s (%(status)s).")
            % {
                "authority": authority,
                "system": payment_system,
                "status": existing.get_status_display(),
            },
            code="agreement_exists",
        )
    agreement = existing or ConnectionAgreement(authority=authority, payment_system=payment_system)
    agreement.status = Status.REQUESTED
    agreement.failure_choice = choice
    agreement.waiting_fallback = fallback
    agreement.error_account_reg, agreement.error_account_number = reg, number
    agreement.signed_at = signed_at
    agreement.go_live_on = go_live_on
    agreement.status_changed_at = timezone.now()
    agreement.test_started_at = agreement.activated_at = None
    with _history_context(actor, "agreement.request"):
        agreement.save()
    audit_record(
        actor=actor,
        action="agreement.request",
        target=agreement,
        authority=authority,
        data={
            "payment_system": payment_system.code,
            "failure_choice": choice,
            "waiting_fallback": fallback,
            "go_live_on": go_live_on.isoformat() if go_live_on else None,
            "reopened": existing is not None,
        },
    )
    return agreement


# Which status may follow which. requested -> active is only allowed when the system is already
# active for another authority (it has passed its test: DOMAIN.md section 7).
_TRANSITIONS: dict[str, set[str]] = {
    Status.REQUESTED: {Status.IN_TEST, Status.ACTIVE, Status.TERMINATED},
    Status.IN_TEST: {Status.ACTIVE, Status.TERMINATED},
    Status.ACTIVE: {Status.SUSPENDED, Status.TERMINATED},
    Status.SUSPENDED: {Status.ACTIVE, Status.TERMINATED},
    Status.TERMINATED: set(),
}


def system_is_connected_elsewhere(agreement: ConnectionAgreement) -> bool:
    """Whether the agreement's payment system is active for some other authority."""
    return (
        ConnectionAgreement.objects.filter(
            payment_system_id=agreement.payment_system_id, status=Status.ACTIVE
        )
        .exclude(pk=agreement.pk)
        .exists()
    )


@transaction.atomic
def agreement_advance(
    *, actor: User | None, agreement: ConnectionAgreement, to: str | None = None
) -> ConnectionAgreement:
    """Move an agreement to status ``to``, or one step on (requested -> in test -> active; a
    system active elsewhere goes straight to active). Operators only. An agreement in test goes
    live only once every scenario of its test script has passed (``payments.test_script``).

    Raises PermissionDenied, Conflict (a transition that is not allowed; code
    ``test_script_incomplete`` naming the scenarios still missing).
    """
    _require(_is_operator(actor), _("Only an operator may change the status of an agreement."))
    agreement = (
        ConnectionAgreement.objects.select_for_update()
        .select_related("authority", "payment_system")
        .get(pk=agreement.pk)
    )
    before = agreement.status
    connected_elsewhere = system_is_connected_elsewhere(agreement)
    if to is None:
        if before == Status.REQUESTED:
            to = Status.ACTIVE if connected_elsewhere else Status.IN_TEST
        elif before == Status.IN_TEST:
            to = Status.ACTIVE
        else:
            raise Conflict(
                _("The agreement is %(status)s: there is no next step.")
                % {"status": agreement.get_status_display()},
                code="no_next_step",
            )
    if to not in Status.values:
        raise ValidationFailed(_("Unknown status %(to)s.") % {"to": to}, field="status")
    if to not in _TRANSITIONS[before]:
        raise Conflict(
            _("An agreement cannot go from %(before)s to %(after)s.")
            % {"before": Status(before).label, "after": Status(to).label},
            code="invalid_transition",
        )
    if before == Status.REQUESTED and to == Status.ACTIVE and not connected_elsewhere:
        raise Conflict(
            _(
                "%(system)s is not active for any other authority yet: it must be tested "
                "(moved to test) before it is activated."
            )
            % {"system": agreement.payment_system},
            code="test_required",
        )
    if before == Status.IN_TEST and to == Status.ACTIVE:
        missing = test_script_missing(agreement)
        if missing:
            raise Conflict(
                _("%(system)s has not passed its test script yet; missing: %(missing)s.")
                % {
                    "system": agreement.payment_system,
                    "missing": "; ".join(s.title for s in missing),
                },
                code="test_script_incomplete",
            )
    now = timezone.now()
    agreement.status = to
    agreement.status_changed_at = now
    if to == Status.IN_TEST:
        agreement.test_started_at = now
    if to == Status.ACTIVE:
        agreement.activated_at = now
    with _history_context(actor, "agreement.advance"):
        agreement.save(
            update_fields=["status", "status_changed_at", "test_started_at", "activated_at"]
        )
    audit_record(
        actor=actor,
        action="agreement.status_change",
        target=agreement,
        authority=agreement.authority,
        data={
            "payment_system": agreement.payment_system.code,
            "from": before,
            "to": to,
            "test_skipped": before == Status.REQUESTED and to == Status.ACTIVE,
        },
    )
    return agreement


@transaction.atomic
def agreement_go_live_change(
    *, actor: User | None, agreement: ConnectionAgreement, go_live_on: datetime.date | None
) -> ConnectionAgreement:
    """Set or clear the agreement's go-live date (None: no restriction); operators only. The old
    date stays in the agreement's history. Raises PermissionDenied."""
    _require(_is_operator(actor), _("Only an operator may change the go-live date."))
    agreement = (
        ConnectionAgreement.objects.select_for_update()
        .select_related("authority", "payment_system")
        .get(pk=agreement.pk)
    )
    before = agreement.go_live_on
    if before == go_live_on:
        return agreement
    agreement.go_live_on = go_live_on
    with _history_context(actor, "agreement.go_live_change"):
        agreement.save(update_fields=["go_live_on"])
    audit_record(
        actor=actor,
        action="agreement.go_live_change",
        target=agreement,
        authority=agreement.authority,
        data={
            "payment_system": agreement.payment_system.code,
            "from": before.isoformat() if before else None,
            "to": go_live_on.isoformat() if go_live_on else None,
        },
    )
    return agreement


@transaction.atomic
def agreement_failure_choice_change(
    *,
    actor: User | None,
    agreement: ConnectionAgreement,
    failure_choice: str,
    error_account_reg: str = "",
    error_account_number: str = "",
    waiting_fallback: str = ConnectionAgreement.WaitingFallback.RETURN,
) -> ConnectionAgreement:
    """Change what happens to payments that cannot be completed (with the waiting account: also
    what happens after it); the old choice stays in the agreement's history. Raises
    PermissionDenied, ValidationFailed, Conflict (terminated)."""
    agreement = (
        ConnectionAgreement.objects.select_for_update()
        .select_related("authority", "payment_system")
        .get(pk=agreement.pk)
    )
    _require(
        _is_operator(actor) or is_local_admin_of(user=actor, authority=agreement.authority),
        _(
            "Only an operator or the local administrator of %(authority)s may change the failure "
            "choice."
        )
        % {"authority": agreement.authority},
    )
    if agreement.status == Status.TERMINATED:
        raise Conflict(_("The agreement is terminated."), code="agreement_terminated")
    choice = _failure_choice(failure_choice)
    fallback = _waiting_fallback(waiting_fallback)
    reg, number = error_account_normalise(
        choice, error_account_reg, error_account_number, waiting_fallback=fallback
    )
    before = {
        "failure_choice": agreement.failure_choice,
        "waiting_fallback": agreement.waiting_fallback,
        "error_account_reg": agreement.error_account_reg,
        "error_account_number": agreement.error_account_number,
    }
    after = {
        "failure_choice": choice,
        "waiting_fallback": fallback,
        "error_account_reg": reg,
        "error_account_number": number,
    }
    if before == after:
        return agreement
    agreement.failure_choice = choice
    agreement.waiting_fallback = fallback
    agreement.error_account_reg, agreement.error_account_number = reg, number
    with _history_context(actor, "agreement.failure_choice_change"):
        agreement.save(update_fields=list(after))
    audit_record(
        actor=actor,
        action="agreement.failure_choice_change",
        target=agreement,
        authority=agreement.authority,
        data={"payment_system": agreement.payment_system.code, "from": before, "to": after},
    )
    return agreement


# --- Bank agreements -----------------------------------------------------------------------


def _bank_agreement_number(number: str) -> str:
    number = (number or "").strip()
    if not number:
        raise ValidationFailed(
            _("The bank agreement number is missing."), field="number", code="required"
        )
    if len(number) > 20:
        raise ValidationFailed(
            _("The bank agreement number can have at most 20 characters."),
            field="number",
            code="max_length",
        )
    try:
        BANK_AGREEMENT_NUMBER_VALIDATOR(number)
    except ValidationError as exc:
        raise ValidationFailed(str(exc.message), field="number", code="invalid") from exc
    return number


def _disbursement_accounts(accounts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    if not accounts:
        raise ValidationFailed(
            _("A bank agreement needs at least one disbursement account."),
            field="disbursement_accounts",
            code="required",
        )
    normalised: list[tuple[str, str]] = []
    for index, (reg, number) in enumerate(accounts):
        try:
            account = parse_danish_account(reg, number)
        except IdentifierError as exc:
            part = "reg" if exc.field == "reg" else "number"
            raise ValidationFailed(
                str(exc), field=f"disbursement_accounts[{index}].{part}", code=exc.code
            ) from exc
        if (account.reg, account.number) in normalised:
            raise ValidationFailed(
                _("The disbursement account %(reg)s %(number)s is given twice.")
                % {"reg": account.reg, "number": account.number},
                field=f"disbursement_accounts[{index}]",
                code="duplicate",
            )
        normalised.append((account.reg, account.number))
    return normalised


def _number_taken(number: str, exclude_pk: int | None = None) -> None:
    taken = BankAgreement.objects.filter(number=number)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise Conflict(
            _("The bank agreement number %(number)s is already in use.") % {"number": number},
            field="number",
            code="duplicate",
        )


@transaction.atomic
def bank_agreement_create(
    *,
    actor: User | None,
    authority: Authority,
    bank: Bank,
    number: str,
    pays_from: datetime.date,
    disbursement_accounts: Sequence[tuple[str, str]],
) -> BankAgreement:
    """Record the authority's bank agreement; operators only. Raises PermissionDenied,
    ValidationFailed, Conflict (number in use)."""
    _require(_is_operator(actor), _("Only an operator may record bank agreements."))
    number = _bank_agreement_number(number)
    accounts = _disbursement_accounts(disbursement_accounts)
    _number_taken(number)
    agreement = BankAgreement.objects.create(
        authority=authority, bank=bank, number=number, pays_from=pays_from
    )
    DisbursementAccount.objects.bulk_create(
        DisbursementAccount(agreement=agreement, reg=reg, number=account)
        for reg, account in accounts
    )
    audit_record(
        actor=actor,
        action="bank_agreement.create",
        target=agreement,
        authority=authority,
        data={
            "number": number,
            "bank": bank.reg,
            "pays_from": pays_from.isoformat(),
            "disbursement_accounts": [f"{reg} {account}" for reg, account in accounts],
        },
    )
    return agreement


@transaction.atomic
def bank_agreement_update(
    *,
    actor: User | None,
    bank_agreement: BankAgreement,
    bank: Bank | None = None,
    number: str | None = None,
    pays_from: datetime.date | None = None,
    disbursement_accounts: Sequence[tuple[str, str]] | None = None,
) -> BankAgreement:
    """Change a bank agreement (given fields only; the accounts are replaced as a whole);
    operators only. Raises PermissionDenied, ValidationFailed, Conflict."""
    _require(_is_operator(actor), _("Only an operator may change bank agreements."))
    agreement = (
        BankAgreement.objects.select_for_update().select_related("bank").get(pk=bank_agreement.pk)
    )
    changes: dict[str, Any] = {}
    if bank is not None and bank.pk != agreement.bank_id:
        changes["bank"] = [agreement.bank.reg, bank.reg]
        agreement.bank = bank
    if number is not None:
        number = _bank_agreement_number(number)
        if number != agreement.number:
            _number_taken(number, exclude_pk=agreement.pk)
            changes["number"] = [agreement.number, number]
            agreement.number = number
    if pays_from is not None and pays_from != agreement.pays_from:
        changes["pays_from"] = [agreement.pays_from.isoformat(), pays_from.isoformat()]
        agreement.pays_from = pays_from
    if disbursement_accounts is not None:
        accounts = _disbursement_accounts(disbursement_accounts)
        current = list(agreement.disbursement_accounts.values_list("reg", "number"))
        if sorted(current) != sorted(accounts):
            changes["disbursement_accounts"] = [
                [f"{reg} {account}" for reg, account in current],
                [f"{reg} {account}" for reg, account in accounts],
            ]
            agreement.disbursement_accounts.all().delete()
            DisbursementAccount.objects.bulk_create(
                DisbursementAccount(agreement=agreement, reg=reg, number=account)
                for reg, account in accounts
            )
    if changes:
        agreement.save()
        audit_record(
            actor=actor,
            action="bank_agreement.update",
            target=agreement,
            authority=agreement.authority,
            data={"number": agreement.number, "changes": changes},
        )
    return agreement


# --- Readiness -----------------------------------------------------------------------------


def _manual_item(item: str) -> ReadinessItemCode:
    if item not in ReadinessItemCode.values:
        raise ValidationFailed(
            _("Unknown checklist item %(item)s.") % {"item": item}, field="item", code="invalid"
        )
    code = ReadinessItemCode(item)
    if code not in MANUAL_ITEMS:
        raise ValidationFailed(
            _("Item %(item)s is computed from the data and cannot be confirmed by hand.")
            % {"item": item},
            field="item",
            code="computed_item",
        )
    return code


@transaction.atomic
def readiness_confirm(
    *, actor: User, authority: Authority, item: str, note: str = ""
) -> ReadinessConfirmation:
    """The local administrator confirms a checklist item the data cannot tell.

    Raises PermissionDenied (not the authority's local administrator), ValidationFailed.
    """
    _require(
        is_local_admin_of(user=actor, authority=authority),
        _("Only the local administrator of %(authority)s may confirm its checklist.")
        % {"authority": authority},
    )
    code = _manual_item(item)
    confirmation, _created = ReadinessConfirmation.objects.update_or_create(
        authority=authority,
        item=code,
        defaults={"confirmed_by": actor, "confirmed_at": timezone.now(), "note": note.strip()},
    )
    audit_record(
        actor=actor,
        action="readiness.confirm",
        target=confirmation,
        authority=authority,
        data={"item": code.value, "note": confirmation.note},
    )
    return confirmation


@transaction.atomic
def readiness_withdraw(*, actor: User, authority: Authority, item: str) -> None:
    """Withdraw a confirmation (the item is no longer met). Raises PermissionDenied,
    ValidationFailed."""
    _require(
        is_local_admin_of(user=actor, authority=authority),
        _("Only the local administrator of %(authority)s may confirm its checklist.")
        % {"authority": authority},
    )
    code = _manual_item(item)
    deleted, _rows = ReadinessConfirmation.objects.filter(authority=authority, item=code).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="readiness.withdraw",
            target=authority,
            authority=authority,
            data={"item": code.value},
        )
