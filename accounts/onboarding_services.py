"""Writes for onboarding (DOMAIN.md section 7): connection requests and user requests.

An authority's coordinator or local administrator submits a connection request; an operator
approves it, which makes the payment system (if new), the bank agreement (if not yet known) and
the connection agreement through the payments services in one transaction and moves the
agreement on (to test, or straight to active when the system is connected elsewhere), or returns
it with a reason, after which the requester corrects and resubmits it. User requests work the
same way for authorities without a local administrator of their own.

Every service is atomic, checks the actor itself and writes its audit record in the same
transaction (ARCHITECTURE.md section 2).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import (
    Authority,
    Bank,
    ConnectionRequest,
    Coordinator,
    Grant,
    LosUnit,
    RoleProfile,
    User,
    UserRequest,
    UserRequestLine,
)
from accounts.onboarding_selectors import can_request_connection, can_request_users
from accounts.selectors import is_operator
from accounts.services import employee_create, grant_create, grant_revoke
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from payments.calendar import is_bank_day
from payments.models import (
    BANK_AGREEMENT_NUMBER_VALIDATOR,
    BankAgreement,
    ConnectionAgreement,
    PaymentSystem,
    error_account_normalise,
)
from payments.services.agreements import (
    agreement_advance,
    agreement_request,
    bank_agreement_create,
    payment_system_create,
)
from registry.identifiers import IdentifierError, parse_danish_account

Status = ConnectionRequest.Status


def _require_operator(actor: User) -> None:
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service may decide on requests."),
            code="operator_only",
        )


def _required(value: str, name: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(_("This field is required."), field=name, code="required")
    if len(value) > max_length:
        raise ValidationFailed(
            _("At most %(n)d characters.") % {"n": max_length}, field=name, code="max_length"
        )
    return value


def _email(value: str, name: str) -> str:
    value = _required(value, name, 254)
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationFailed(
            _("Enter a valid email address."), field=name, code="invalid"
        ) from None
    return value


# --- Coordinators ---------------------------------------------------------------------------


@transaction.atomic
def coordinator_appoint(*, actor: User, authority: Authority, user: User) -> Coordinator:
    """Name an employee the authority's NemKonto coordinator. Raises PermissionDenied (not an
    operator), ValidationFailed (not an active employee of the authority), Conflict."""
    _require_operator(actor)
    if not (
        user.kind == User.Kind.EMPLOYEE and user.authority_id == authority.pk and user.is_active
    ):
        raise ValidationFailed(
            _("The coordinator must be an active employee of %(authority)s.")
            % {"authority": authority},
            field="user",
            code="other_authority",
        )
    if Coordinator.objects.filter(user=user).exists():
        raise Conflict(_("%(user)s is a coordinator already.") % {"user": user}, field="user")
    coordinator = Coordinator.objects.create(authority=authority, user=user)
    audit_record(
        actor=actor,
        action="coordinator.appoint",
        target=coordinator,
        authority=authority,
        data={"user": user.pk, "username": user.username},
    )
    return coordinator


@transaction.atomic
def coordinator_remove(*, actor: User, coordinator: Coordinator) -> None:
    """Take the coordinator role back. Raises PermissionDenied (not an operator)."""
    _require_operator(actor)
    data = {"user": coordinator.user_id, "username": coordinator.user.username}
    authority = coordinator.authority
    audit_record(
        actor=actor, action="coordinator.remove", target=coordinator, authority=authority, data=data
    )
    coordinator.delete()


# --- Connection requests --------------------------------------------------------------------


@dataclass
class ConnectionRequestData:
    """What the requester states; ``connection_request_clean`` checks and normalises it."""

    new_system: bool
    payment_system: PaymentSystem | None
    system_name: str
    system_vendor: str
    units: Sequence[LosUnit]
    bank: Bank | None
    bank_agreement_number: str
    disbursement_reg: str
    disbursement_number: str
    failure_choice: str
    waiting_fallback: str
    error_account_reg: str
    error_account_number: str
    go_live_on: datetime.date | None
    contact_name: str
    contact_email: str
    contact_phone: str
    technical_name: str
    technical_email: str
    technical_phone: str


def _system(data: ConnectionRequestData, authority: Authority) -> None:
    if data.new_system:
        data.payment_system = None
        data.system_name = _required(data.system_name, "system_name", 200)
        data.system_vendor = (data.system_vendor or "").strip()[:200]
        if PaymentSystem.objects.filter(name__iexact=data.system_name).exists():
            raise ValidationFailed(
                _(
                    "%(name)s is already connected to NemKonto: choose it as an existing system "
                    "instead."
                )
                % {"name": data.system_name},
                field="system_name",
                code="system_exists",
            )
        return
    data.system_name = data.system_vendor = ""
    if data.payment_system is None:
        raise ValidationFailed(
            _("Choose the payment system."), field="payment_system", code="required"
        )
    if not ConnectionAgreement.objects.filter(
        payment_system=data.payment_system, status=ConnectionAgreement.Status.ACTIVE
    ).exists():
        raise ValidationFailed(
            _(
                "%(system)s is not connected for any authority yet: request it as a new system, "
                "so that it is tested."
            )
            % {"system": data.payment_system},
            field="payment_system",
            code="not_connected",
        )
    agreement = ConnectionAgreement.objects.filter(
        authority=authority, payment_system=data.payment_system
    ).first()
    if agreement is not None and agreement.status != ConnectionAgreement.Status.TERMINATED:
        raise ValidationFailed(
            _("%(authority)s already has an agreement with %(system)s (%(status)s).")
            % {
                "authority": authority,
                "system": data.payment_system,
                "status": agreement.get_status_display(),
            },
            field="payment_system",
            code="agreement_exists",
        )


def _units(data: ConnectionRequestData, authority: Authority) -> None:
    if not data.units:
        raise ValidationFailed(
            _("Choose the LOS units that will pay through the system."),
            field="units",
            code="required",
        )
    for unit in data.units:
        if unit.authority_id != authority.pk or not unit.is_open:
            raise ValidationFailed(
                _("The LOS unit %(unit)s is not an open unit of %(authority)s.")
                % {"unit": unit, "authority": authority},
                field="units",
                code="other_authority",
            )


def _bank_agreement(data: ConnectionRequestData, authority: Authority, approving: bool) -> None:
    if data.bank is None:
        raise ValidationFailed(_("Choose the bank."), field="bank", code="required")
    number = _required(data.bank_agreement_number, "bank_agreement_number", 20)
    try:
        BANK_AGREEMENT_NUMBER_VALIDATOR(number)
    except ValidationError as exc:
        raise ValidationFailed(
            _("The bank agreement number may hold only letters, digits and '-'."),
            field="bank_agreement_number",
            code=exc.code or "invalid",
        ) from exc
    data.bank_agreement_number = number
    existing = BankAgreement.objects.filter(number=number).first()
    if existing is not None:
        if existing.authority_id != authority.pk or existing.bank_id != data.bank.pk:
            raise ValidationFailed(
                _("The bank agreement number %(number)s belongs to another agreement.")
                % {"number": number},
                field="bank_agreement_number",
                code="other_agreement",
            )
        # On approval the agreement may have been made since, from another of its requests.
        if (data.disbursement_reg or data.disbursement_number) and not approving:
            raise ValidationFailed(
                _(
                    "The bank agreement %(number)s is already registered with its disbursement "
                    "accounts: leave the disbursement account empty."
                )
                % {"number": number},
                field="disbursement_number",
                code="agreement_known",
            )
        return
    if not (data.disbursement_reg or "").strip() or not (data.disbursement_number or "").strip():
        raise ValidationFailed(
            _("A new bank agreement needs the disbursement account (reg.nr. and number)."),
            field="disbursement_number" if data.disbursement_reg else "disbursement_reg",
            code="required",
        )
    try:
        account = parse_danish_account(data.disbursement_reg, data.disbursement_number)
    except IdentifierError as exc:
        name = "disbursement_reg" if exc.field == "reg" else "disbursement_number"
        raise ValidationFailed(str(exc), field=name, code=exc.code) from exc
    data.disbursement_reg, data.disbursement_number = account.reg, account.number


def _go_live(data: ConnectionRequestData) -> None:
    day = data.go_live_on
    if day is None:
        raise ValidationFailed(
            _("Give the planned go-live date."), field="go_live_on", code="required"
        )
    if day < timezone.localdate():
        raise ValidationFailed(
            _("The go-live date cannot be in the past."), field="go_live_on", code="past"
        )
    if not is_bank_day(day):
        raise ValidationFailed(
            _("%(date)s is not a bank day: choose a day the banks are open.")
            % {"date": day.isoformat()},
            field="go_live_on",
            code="not_bank_day",
        )


def connection_request_clean(
    *, authority: Authority, data: ConnectionRequestData, approving: bool = False
) -> None:
    """Check and normalise a request in place (also used by the portal's form, so its errors
    show on the step they belong to). Raises ValidationFailed naming the field."""
    _system(data, authority)
    _units(data, authority)
    _bank_agreement(data, authority, approving)
    data.error_account_reg, data.error_account_number = error_account_normalise(
        data.failure_choice,
        data.error_account_reg,
        data.error_account_number,
        waiting_fallback=data.waiting_fallback,
    )
    if data.failure_choice != ConnectionAgreement.FailureChoice.WAITING:
        data.waiting_fallback = ConnectionAgreement.WaitingFallback.RETURN
    _go_live(data)
    data.contact_name = _required(data.contact_name, "contact_name", 200)
    data.contact_email = _email(data.contact_email, "contact_email")
    data.contact_phone = _required(data.contact_phone, "contact_phone", 30)
    data.technical_name = _required(data.technical_name, "technical_name", 200)
    data.technical_email = _email(data.technical_email, "technical_email")
    data.technical_phone = _required(data.technical_phone, "technical_phone", 30)


# What a request stores of its form (besides the LOS units).
CONNECTION_REQUEST_FIELDS = (
    "new_system",
    "payment_system",
    "system_name",
    "system_vendor",
    "bank",
    "bank_agreement_number",
    "disbursement_reg",
    "disbursement_number",
    "failure_choice",
    "waiting_fallback",
    "error_account_reg",
    "error_account_number",
    "go_live_on",
    "contact_name",
    "contact_email",
    "contact_phone",
    "technical_name",
    "technical_email",
    "technical_phone",
)


def _store(request: ConnectionRequest, data: ConnectionRequestData) -> None:
    for name in CONNECTION_REQUEST_FIELDS:
        setattr(request, name, getattr(data, name))
    request.save()
    request.units.set(data.units)


def _request_audit(request: ConnectionRequest) -> dict[str, Any]:
    return {
        "new_system": request.new_system,
        "system": request.system_label,
        "units": sorted(unit.code for unit in request.units.all()),
        "bank_agreement_number": request.bank_agreement_number,
        "failure_choice": request.failure_choice,
        "go_live_on": request.go_live_on.isoformat(),
    }


def _require_may_request_connection(actor: User, authority: Authority) -> None:
    if not can_request_connection(user=actor, authority=authority):
        raise PermissionDenied(
            _(
                "Only the coordinator or a local administrator of %(authority)s may request a "
                "connection."
            )
            % {"authority": authority},
            code="not_permitted",
        )


@transaction.atomic
def connection_request_submit(
    *, actor: User, authority: Authority, data: ConnectionRequestData
) -> ConnectionRequest:
    """Submit the authority's connection request. Raises PermissionDenied (not its coordinator
    or local administrator), ValidationFailed."""
    _require_may_request_connection(actor, authority)
    connection_request_clean(authority=authority, data=data)
    request = ConnectionRequest(
        authority=authority, requested_by=actor, submitted_at=timezone.now()
    )
    _store(request, data)
    audit_record(
        actor=actor,
        action="connection_request.submit",
        target=request,
        authority=authority,
        data=_request_audit(request),
    )
    return request


@transaction.atomic
def connection_request_resubmit(
    *, actor: User, request: ConnectionRequest, data: ConnectionRequestData
) -> ConnectionRequest:
    """Submit a returned request again, corrected. Raises PermissionDenied, Conflict (not
    returned), ValidationFailed."""
    request = ConnectionRequest.objects.select_for_update().get(pk=request.pk)
    authority = request.authority
    _require_may_request_connection(actor, authority)
    if request.status != Status.RETURNED:
        raise Conflict(
            _("Only a returned request can be corrected and submitted again."),
            code="not_returned",
        )
    connection_request_clean(authority=authority, data=data)
    request.status = Status.SUBMITTED
    request.submitted_at = timezone.now()
    request.decided_at = None
    request.decided_by = None
    reason = request.return_reason
    request.return_reason = ""
    _store(request, data)
    audit_record(
        actor=actor,
        action="connection_request.resubmit",
        target=request,
        authority=authority,
        data={**_request_audit(request), "after_return_reason": reason},
    )
    return request


# Generic over the two kinds of request an operator decides.
def _submitted[R: (ConnectionRequest, UserRequest)](request: R, *related: str) -> R:
    """The request, locked, if it is still submitted. Raises NotFound, Conflict."""
    locked = (
        type(request)
        .objects.select_for_update(of=("self",))
        .select_related("authority", *related)
        .filter(pk=request.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("There is no such request."), code="not_found")
    if locked.status != type(request).Status.SUBMITTED:
        raise Conflict(
            _("The request is %(status)s: only a submitted request can be decided.")
            % {"status": locked.get_status_display().lower()},
            code="not_submitted",
        )
    return locked


def _return_to_requester[R: (ConnectionRequest, UserRequest)](
    *, actor: User, request: R, reason: str, action: str
) -> R:
    """Return a submitted request to its requester with a reason (audited as ``action``)."""
    _require_operator(actor)
    reason = _required(reason, "reason", 2000)
    request = _submitted(request)
    request.status = type(request).Status.RETURNED
    request.return_reason = reason
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.save(update_fields=["status", "return_reason", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        action=action,
        target=request,
        authority=request.authority,
        data={"reason": reason},
    )
    return request


def _make_system(actor: User, request: ConnectionRequest) -> PaymentSystem:
    return payment_system_create(
        actor=actor,
        name=request.system_name,
        vendor=request.system_vendor,
        authority=request.authority,
        context={"request": request.pk},
    )


@transaction.atomic
def connection_request_approve(*, actor: User, request: ConnectionRequest) -> ConnectionRequest:
    """Approve a submitted request: make the payment system (if new), the bank agreement (if not
    registered) and the connection agreement, and move the agreement on (to test, or to active
    for a system connected elsewhere), all in one transaction. Raises PermissionDenied (not an
    operator), Conflict (not submitted, an agreement exists), ValidationFailed (the request no
    longer holds, e.g. the go-live date has passed)."""
    _require_operator(actor)
    request = _submitted(request, "payment_system", "bank")
    authority = request.authority
    data = ConnectionRequestData(
        **{name: getattr(request, name) for name in CONNECTION_REQUEST_FIELDS},
        units=list(request.units.all()),
    )
    connection_request_clean(authority=authority, data=data, approving=True)
    system = _make_system(actor, request) if request.new_system else request.payment_system
    assert system is not None
    if not BankAgreement.objects.filter(number=request.bank_agreement_number).exists():
        bank_agreement_create(
            actor=actor,
            authority=authority,
            bank=request.bank,
            number=request.bank_agreement_number,
            pays_from=request.go_live_on,
            disbursement_accounts=[(request.disbursement_reg, request.disbursement_number)],
        )
    agreement = agreement_request(
        actor=actor,
        authority=authority,
        payment_system=system,
        failure_choice=request.failure_choice,
        error_account_reg=request.error_account_reg,
        error_account_number=request.error_account_number,
        waiting_fallback=request.waiting_fallback,
        signed_at=timezone.localdate(),
        go_live_on=request.go_live_on,
    )
    agreement = agreement_advance(actor=actor, agreement=agreement)
    request.payment_system = system
    request.agreement = agreement
    request.status = Status.APPROVED
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.save(
        update_fields=["payment_system", "agreement", "status", "decided_at", "decided_by"]
    )
    audit_record(
        actor=actor,
        action="connection_request.approve",
        target=request,
        authority=authority,
        data={
            "system": system.code,
            "agreement": agreement.pk,
            "agreement_status": agreement.status,
        },
    )
    return request


@transaction.atomic
def connection_request_return(
    *, actor: User, request: ConnectionRequest, reason: str
) -> ConnectionRequest:
    """Return a submitted request to the requester with a reason. Raises PermissionDenied,
    Conflict (not submitted), ValidationFailed (no reason)."""
    return _return_to_requester(
        actor=actor, request=request, reason=reason, action="connection_request.return"
    )


# --- User requests --------------------------------------------------------------------------

UserStatus = UserRequest.Status
Action = UserRequestLine.Action


@dataclass(frozen=True)
class RequestedGrant:
    action: str
    role_profile: RoleProfile
    unit: LosUnit


def _lines(
    authority: Authority, kind: str, user: User | None, lines: Sequence[RequestedGrant]
) -> None:
    if not lines:
        raise ValidationFailed(
            _("Name at least one role profile and LOS unit."), field="lines", code="required"
        )
    seen: set[tuple[int, int]] = set()
    for index, line in enumerate(lines):
        name = f"lines[{index}]"
        if line.unit.authority_id != authority.pk or not line.unit.is_open:
            raise ValidationFailed(
                _("The LOS unit %(unit)s is not an open unit of %(authority)s.")
                % {"unit": line.unit, "authority": authority},
                field=f"{name}.unit",
                code="other_authority",
            )
        if line.action not in Action.values or (kind == "create" and line.action != Action.GRANT):
            raise ValidationFailed(
                _("A new user can only be granted role profiles."),
                field=f"{name}.action",
                code="invalid_choice",
            )
        key = (line.role_profile.pk, line.unit.pk)
        if key in seen:
            raise ValidationFailed(
                _("%(profile)s on %(unit)s is named twice.")
                % {"profile": line.role_profile, "unit": line.unit},
                field=f"{name}.role_profile",
                code="duplicate",
            )
        seen.add(key)
        held = (
            user is not None
            and Grant.objects.filter(
                user=user, role_profile=line.role_profile, unit=line.unit
            ).exists()
        )
        if line.action == Action.REVOKE and user is not None and not held:
            raise ValidationFailed(
                _("%(user)s does not hold %(profile)s on %(unit)s.")
                % {"user": user.username, "profile": line.role_profile, "unit": line.unit},
                field=f"{name}.role_profile",
                code="no_grant",
            )


@transaction.atomic
def user_request_submit(
    *,
    actor: User,
    authority: Authority,
    kind: str,
    lines: Sequence[RequestedGrant],
    user: User | None = None,
    username: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    note: str = "",
) -> UserRequest:
    """Ask the NemKonto service to create a caseworker or change one's role profiles. Raises
    PermissionDenied (not an employee of the authority), ValidationFailed."""
    if not can_request_users(user=actor, authority=authority):
        raise PermissionDenied(
            _("Only employees of %(authority)s may request its users.") % {"authority": authority},
            code="not_permitted",
        )
    if kind not in UserRequest.Kind.values:
        raise ValidationFailed(_("Unknown kind of request."), field="kind", code="invalid_choice")
    request = UserRequest(
        authority=authority,
        requested_by=actor,
        kind=kind,
        note=(note or "").strip(),
        submitted_at=timezone.now(),
    )
    if kind == UserRequest.Kind.CREATE:
        request.username = _required(username, "username", 150)
        try:
            User.username_validator(request.username)
        except ValidationError as error:
            raise ValidationFailed(error.messages[0], field="username", code="invalid") from None
        if User.objects.filter(username__iexact=request.username).exists():
            raise Conflict(_("This username is taken."), field="username", code="duplicate")
        request.first_name = _required(first_name, "first_name", 150)
        request.last_name = _required(last_name, "last_name", 150)
        request.email = _email(email, "email") if email else ""
        user = None
    else:
        if user is None or user.kind != User.Kind.EMPLOYEE or user.authority_id != authority.pk:
            raise ValidationFailed(
                _("Choose one of the authority's users."), field="user", code="required"
            )
        request.user = user
    _lines(authority, kind, user, lines)
    request.save()
    UserRequestLine.objects.bulk_create(
        UserRequestLine(
            request=request, action=line.action, role_profile=line.role_profile, unit=line.unit
        )
        for line in lines
    )
    audit_record(
        actor=actor,
        action="user_request.submit",
        target=request,
        authority=authority,
        data={
            "kind": kind,
            "user": request.user_label,
            "lines": [[line.action, line.role_profile.code, line.unit.code] for line in lines],
        },
    )
    return request


@transaction.atomic
def user_request_carry_out(*, actor: User, request: UserRequest) -> UserRequest:
    """Create the user and grant (or revoke) the requested role profiles through the accounts
    services, then mark the request done; all or nothing. Raises PermissionDenied, Conflict,
    ValidationFailed (from the services, e.g. a username taken since)."""
    _require_operator(actor)
    request = _submitted(request, "user")
    lines = list(request.lines.select_related("role_profile", "unit"))
    user = request.user
    if request.kind == UserRequest.Kind.CREATE:
        user = employee_create(
            actor=actor,
            authority=request.authority,
            username=request.username,
            first_name=request.first_name,
            last_name=request.last_name,
            email=request.email,
        )
    assert user is not None
    for line in lines:
        if line.action == Action.GRANT:
            grant_create(actor=actor, user=user, role_profile=line.role_profile, unit=line.unit)
        else:
            grant = Grant.objects.filter(
                user=user, role_profile=line.role_profile, unit=line.unit
            ).first()
            if grant is None:
                raise Conflict(
                    _("%(user)s no longer holds %(profile)s on %(unit)s.")
                    % {"user": user.username, "profile": line.role_profile, "unit": line.unit},
                    code="no_grant",
                )
            grant_revoke(actor=actor, grant=grant)
    request.user = user
    request.status = UserStatus.DONE
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.save(update_fields=["user", "status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        action="user_request.done",
        target=request,
        authority=request.authority,
        data={"user": user.pk, "username": user.username},
    )
    return request


@transaction.atomic
def user_request_return(*, actor: User, request: UserRequest, reason: str) -> UserRequest:
    """Return a submitted user request with a reason. Raises PermissionDenied, Conflict,
    ValidationFailed (no reason)."""
    return _return_to_requester(
        actor=actor, request=request, reason=reason, action="user_request.return"
    )


__all__ = [
    "CONNECTION_REQUEST_FIELDS",
    "ConnectionRequestData",
    "RequestedGrant",
    "connection_request_approve",
    "connection_request_clean",
    "connection_request_resubmit",
    "connection_request_return",
    "connection_request_submit",
    "coordinator_appoint",
    "coordinator_remove",
    "user_request_carry_out",
    "user_request_return",
    "user_request_submit",
]
