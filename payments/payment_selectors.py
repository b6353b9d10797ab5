"""Reads of batches and payments (ARCHITECTURE.md section 2): for the payment system that sent
them (scoped to its own batches), and for the authority's caseworkers (scoped through their LOS
units: pending payments through *search pending payments*, the others through *search completed
payments*, in one SQL statement).

A payment's history is told from its own columns (one timestamp per stage, the account version
it was attached to, the bank file and the bank's answer): no event table to keep in step.
"""

import datetime
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.functions import Function
from accounts.models import ApiClient, AuditEvent, LosUnit, User
from accounts.selectors import units_for
from nemkonto.errors import NotFound, PermissionDenied, ValidationFailed
from payments.models import (
    AccountSource,
    BankFile,
    Batch,
    FailureHandling,
    Payment,
    PaymentHold,
    PaymentStatus,
)
from payments.return_codes import RETURN_CODES, return_text
from registry.identifiers import MASK, IdentifierError, IdKind, parse_recipient_id
from registry.models import LookupLog, Recipient

# Pending: not yet forwarded and not final (DOMAIN.md section 8); the rest is "completed".
PENDING_STATUSES = (
    PaymentStatus.RECEIVED,
    PaymentStatus.COMPLETED,
    PaymentStatus.WAITING,
    PaymentStatus.HELD,
)


# --- Payment systems: their own batches ----------------------------------------------------------


def _batch_not_found() -> NotFound:
    return NotFound(_("Batch not found."), code="not_found")


def batch_get_for_client(*, client: ApiClient, batch_id: str | uuid.UUID) -> Batch:
    """One of the client's own batches (its payment system, for its authority).

    Raises NotFound when it is missing, another's, or the id is not a UUID.
    """
    try:
        pk = batch_id if isinstance(batch_id, uuid.UUID) else uuid.UUID(str(batch_id))
    except ValueError:
        raise _batch_not_found() from None
    if client.payment_system_id is None or client.authority_id is None:
        raise _batch_not_found()
    batch = Batch.objects.filter(
        pk=pk, payment_system_id=client.payment_system_id, authority_id=client.authority_id
    ).first()
    if batch is None:
        raise _batch_not_found()
    return batch


def batch_summary(*, batch: Batch) -> dict[str, Any]:
    """The batch's status (API.md, Batch status): counts per status and per return code from ONE
    aggregate query, and the bank files its payments left in (with this batch's share)."""
    groups = (
        Payment.objects.filter(batch=batch)
        .order_by()
        .values_list("status", "return_code", "bank_file_id")
        .annotate(n=Count("*"))
    )
    # Only what occurs, as in the callbacks' body (``payments.callbacks``), in a stable order.
    counts = dict.fromkeys(PaymentStatus.values, 0)
    return_codes = {str(code): 0 for code in RETURN_CODES}
    per_file: dict[int, int] = {}
    for status, code, file_id, n in groups:
        counts[status] = counts.get(status, 0) + n
        if code is not None:
            return_codes[str(code)] = return_codes.get(str(code), 0) + n
        if file_id is not None:
            per_file[file_id] = per_file.get(file_id, 0) + n
    counts = {status: n for status, n in counts.items() if n}
    return_codes = {code: n for code, n in return_codes.items() if n}
    files = (
        BankFile.objects.filter(pk__in=list(per_file)).order_by("value_date", "message_id")
        if per_file
        else []
    )
    return {
        "batch_id": batch.pk,
        "status": batch.status,
        "received": batch.received_count,
        "received_at": batch.received_at,
        "counts": counts,
        "return_codes": return_codes,
        "requested_value_date": batch.requested_value_date,
        "expected_value_date": batch.expected_value_date,
        "cut_off": batch.cut_off,
        "test": batch.is_test,
        "files": [
            {
                "message_id": file.message_id,
                "value_date": file.value_date,
                "status": file.status,
                "transactions": per_file[file.pk],
            }
            for file in files
        ],
    }


def batch_payments(
    *,
    batch: Batch,
    status: str | None = None,
    return_code: int | None = None,
    reference: str | None = None,
) -> QuerySet[Payment]:
    """The batch's payments in line order, optionally filtered; one query per page."""
    payments = Payment.objects.filter(batch=batch)
    if status:
        payments = payments.filter(status=status)
    if return_code is not None:
        payments = payments.filter(return_code=return_code)
    if reference:
        payments = payments.filter(reference=reference)
    return payments.order_by("line")


def batch_payment_get(*, batch: Batch, reference: str) -> Payment:
    """The batch's payment with this reference, ready for its history; a row rejected as a
    repeat of the reference only when there is no other. Raises NotFound."""
    payment = (
        Payment.objects.filter(batch=batch, reference=reference)
        .select_related("batch", "authority", "bank_file", "nemkonto", "specific_account")
        .order_by(Case(When(return_field="reference", then=Value(1)), default=Value(0)), "line")
        .first()
    )
    if payment is None:
        raise NotFound(_("The batch has no payment with this reference."), code="not_found")
    return payment


# --- Caseworkers: the authority's payments through their LOS units -------------------------------


def _scope(actor: User) -> Q:
    pending_units = units_for(user=actor, function=Function.SEARCH_PENDING_PAYMENTS)
    completed_units = units_for(user=actor, function=Function.SEARCH_COMPLETED_PAYMENTS)
    return Q(status__in=PENDING_STATUSES, los_unit__in=pending_units) | (
        ~Q(status__in=PENDING_STATUSES) & Q(los_unit__in=completed_units)
    )


def payments_visible(*, actor: User) -> QuerySet[Payment]:
    """Every payment the caseworker may see: pending ones on units where they may search
    pending payments, the others where they may search completed ones (one statement)."""
    return Payment.objects.filter(_scope(actor))


def _require_search_function(actor: User) -> None:
    scope = LosUnit.objects.filter(
        Q(pk__in=units_for(user=actor, function=Function.SEARCH_PENDING_PAYMENTS))
        | Q(pk__in=units_for(user=actor, function=Function.SEARCH_COMPLETED_PAYMENTS))
    )
    if not scope.exists():
        raise PermissionDenied(
            _(
                "You cannot search payments: you need the profile NKS-Søg-Bet (pending "
                "payments) or NKS-Søg-Gennemf-Bet (completed payments) on a LOS unit."
            ),
            code="not_permitted",
        )


class _Errors:
    """Collects the search's field errors, to answer them all at once (422)."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.errors.append({"field": field, "code": code, "message": message})

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationFailed(
                gettext("The search has errors; see the list of errors."), errors=self.errors
            )


def _recipient_filter(
    recipient_type: str | None, number: str, errors: _Errors
) -> tuple[Q, str | None]:
    """The filter for a recipient (type and number, or the number alone) and the CPR number
    it looks up, if any (a look-up of a person, to be logged)."""
    if recipient_type:
        try:
            parsed = parse_recipient_id(recipient_type.upper(), number)
        except IdentifierError as error:
            field = "recipient_type" if error.field == "type" else "recipient"
            errors.add(field, error.code, str(error))
            return Q(), None
        cpr = parsed.number if parsed.kind == IdKind.CPR else None
        return Q(recipient_type=parsed.kind, recipient_number=parsed.number), cpr
    digits = number.strip().replace("-", "").replace(" ", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (8, 10):
        errors.add(
            "recipient",
            "invalid",
            gettext("Give a CPR, CVR, P or SE number: 8 or 10 digits (with recipient_type)."),
        )
        return Q(), None
    cpr = None
    if len(digits) == 10:
        try:
            cpr = parse_recipient_id(IdKind.CPR, digits).number
        except IdentifierError:
            cpr = None  # not a possible CPR number (a P-number): not a look-up of a person
    return Q(recipient_number=digits), cpr


def _amount_ore(amount: str, errors: _Errors) -> int | None:
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        errors.add(
            "amount",
            "invalid",
            gettext('Give the amount in kroner with at most two decimals, as "1234.50".'),
        )
        return None
    return int(value * 100)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def payment_search(
    *,
    actor: User,
    recipient: str | None = None,
    recipient_type: str | None = None,
    purpose: str | None = None,
    reference: str | None = None,
    batch_id: str | uuid.UUID | None = None,
    amount: str | None = None,
    received_from: datetime.date | None = None,
    received_to: datetime.date | None = None,
    value_date_from: datetime.date | None = None,
    value_date_to: datetime.date | None = None,
    status: str | None = None,
    return_code: int | None = None,
    pending: bool | None = None,
    channel: str = LookupLog.Channel.API,
) -> QuerySet[Payment]:
    """The authority's payments the caseworker may see, filtered (DOMAIN.md section 8, tracing):
    one SQL statement, newest first.

    ``recipient`` is a number (CPR with or without hyphen, CVR, P, SE), with ``recipient_type``
    or alone (then any type with that number). Searching by recipient needs a ``purpose``; a
    search that may name a person's CPR number is written to the look-up log (``channel``) before
    anything is answered. Raises PermissionDenied (no search profile: nothing is logged) and
    ValidationFailed (every bad filter named).
    """
    _require_search_function(actor)
    errors = _Errors()
    conditions = Q()
    cpr: str | None = None
    cleaned_purpose = ""
    if recipient:
        recipient_q, cpr = _recipient_filter(recipient_type, recipient, errors)
        conditions &= recipient_q
        cleaned_purpose = (purpose or "").strip()
        if not cleaned_purpose:
            errors.add(
                "purpose",
                "required",
                gettext("Say why you search for the recipient (purpose): every look-up is logged."),
            )
        elif len(cleaned_purpose) > 200:
            errors.add(
                "purpose", "max_length", gettext("The purpose can have at most 200 characters.")
            )
    elif recipient_type:
        errors.add("recipient", "required", gettext("Give the number with the recipient type."))
    if reference:
        conditions &= Q(reference=reference.strip())
    if batch_id:
        try:
            conditions &= Q(batch_id=uuid.UUID(str(batch_id)))
        except ValueError:
            errors.add("batch_id", "invalid", gettext("Give the batch id (a UUID)."))
    if amount:
        ore = _amount_ore(amount, errors)
        if ore is not None:
            conditions &= Q(amount_ore=ore)
    for low, high, low_name, high_name in (
        (received_from, received_to, "received_from", "received_to"),
        (value_date_from, value_date_to, "value_date_from", "value_date_to"),
    ):
        if low is not None and high is not None and high < low:
            errors.add(
                high_name,
                "invalid_period",
                gettext("%(to)s is before %(from)s.") % {"to": high_name, "from": low_name},
            )
    if received_from is not None:
        conditions &= Q(received_at__gte=_day_start(received_from))
    if received_to is not None:
        conditions &= Q(received_at__lt=_day_start(received_to + datetime.timedelta(days=1)))
    if value_date_from is not None:
        conditions &= Q(value_date__gte=value_date_from)
    if value_date_to is not None:
        conditions &= Q(value_date__lte=value_date_to)
        # Implied, never excludes a match (a payment gets a value date no earlier than the day it
        # is received), and lets a scan in order of receipt start at the period's end.
        conditions &= Q(received_at__lt=_day_start(value_date_to + datetime.timedelta(days=1)))
    if status:
        if status not in PaymentStatus.values:
            errors.add(
                "status",
                "invalid_choice",
                gettext("Unknown status; use one of: %(values)s.")
                % {"values": ", ".join(PaymentStatus.values)},
            )
        conditions &= Q(status=status)
    if return_code is not None:
        if return_code not in RETURN_CODES:
            errors.add(
                "return_code",
                "invalid_choice",
                gettext("Unknown return code; use one of: %(values)s.")
                % {"values": ", ".join(str(code) for code in RETURN_CODES)},
            )
        conditions &= Q(return_code=return_code)
    if pending is True:
        conditions &= Q(status__in=PENDING_STATUSES)
    elif pending is False:
        conditions &= ~Q(status__in=PENDING_STATUSES)
    errors.raise_any()
    if cpr is not None:
        _log_cpr_search(actor=actor, cpr=cpr, purpose=cleaned_purpose, channel=channel)
    return (
        payments_visible(actor=actor)
        # Implied by the unit scope; lets the indexes that begin with the authority serve.
        .filter(conditions, authority=actor.authority)
        .select_related("los_unit", "payment_system")
        .order_by("-id")
    )


def _log_cpr_search(*, actor: User, cpr: str, purpose: str, channel: str) -> None:
    # Imported here: the registry's services import the payments models.
    from registry.services.lookups import lookup_log_write

    known = Recipient.objects.filter(id_type=IdKind.CPR, id_number=cpr).exists()
    lookup_log_write(
        channel=LookupLog.Channel(channel),
        cpr=cpr,
        purpose=f"{gettext('payment search')}: {purpose}"[:200],
        result=LookupLog.Result.FOUND if known else LookupLog.Result.NOT_FOUND,
        user=actor,
        authority=actor.authority,
    )


def payment_get(*, actor: User, payment_id: int | str) -> Payment:
    """One payment the caseworker may see, ready for its history; NotFound otherwise."""
    try:
        pk = int(payment_id)
    except (TypeError, ValueError):
        pk = None
    payment = (
        payments_visible(actor=actor)
        .filter(pk=pk)
        .select_related(
            "batch",
            "authority",
            "los_unit",
            "payment_system",
            "bank_file",
            "nemkonto",
            "specific_account",
        )
        .first()
        if pk is not None
        else None
    )
    if payment is None:
        raise NotFound(_("Payment not found."), code="not_found")
    return payment


def payment_stop_reason(*, payment: Payment) -> str:
    """The reason a caseworker gave for stopping the payment, from the audit record of the stop
    (``payments.services.stops.payments_stop``); "" when a payment system stopped it or no
    reason was given."""
    if payment.stopped_at is None or payment.stopped_by_id is None:
        return ""
    # The record is written in the stop's transaction, after the payment's row: the first stop
    # by this caseworker from that moment on that names the payment.
    event = (
        AuditEvent.objects.filter(
            action="payment.stop",
            actor_id=payment.stopped_by_id,
            at__gte=payment.stopped_at,
            data__stopped__contains=[payment.pk],
        )
        .order_by("at", "id")
        .first()
    )
    return str(event.data.get("reason", "")) if event is not None else ""


# --- A payment's history -------------------------------------------------------------------------


def masked_account(payment: Payment) -> str | None:
    """The account the payment goes to, masked (``****4567``); None when it has none."""
    if payment.number:
        return MASK + payment.number[-4:]
    if payment.iban:
        return MASK + payment.iban[-4:]
    return None


def full_account(payment: Payment) -> str | None:
    """The whole account (for those entitled to see it); None when it has none."""
    if payment.number:
        return f"{payment.reg}-{payment.number}"
    if payment.iban:
        return f"{payment.iban} ({payment.bic})"
    return None


def recipient_label(payment: Payment) -> str:
    if payment.recipient_type == IdKind.CPR and len(payment.recipient_number) == 10:
        return f"CPR {payment.recipient_number[:6]}-{payment.recipient_number[6:]}"
    if payment.recipient_type:
        return f"{payment.recipient_type} {payment.recipient_number}"
    return payment.recipient_raw


def _event(at: Any, event: str, text: str, **details: Any) -> dict[str, Any]:
    return {"at": at, "event": event, "text": text, "details": details}


def _attached(payment: Payment, *, with_accounts: bool) -> dict[str, Any] | None:
    at = payment.processed_at
    account = {"account": masked_account(payment)} if with_accounts else {}
    source = payment.account_source
    if source == AccountSource.SPECIFIC and payment.specific_account is not None:
        version = payment.specific_account
        text = gettext(
            "Attached to specific account version %(version)s: the live specific account for "
            "(%(recipient)s, %(authority)s, %(benefit)s)."
        ) % {
            "version": version.pk,
            "recipient": recipient_label(payment),
            "authority": payment.authority.code,
            "benefit": payment.benefit_code,
        }
        return _event(
            at,
            "attached",
            text,
            account_kind=source,
            specific_account_version=version.pk,
            registered_at=version.created_at,
            **account,
        )
    if source == AccountSource.NEMKONTO and payment.nemkonto is not None:
        nemkonto = payment.nemkonto
        text = gettext(
            "Attached to NemKonto version %(version)s, active from %(active)s: the NemKonto "
            "active at that moment (no specific account for the benefit)."
        ) % {
            "version": nemkonto.pk,
            "active": timezone.localtime(nemkonto.activated_at).strftime("%Y-%m-%d %H:%M")
            if nemkonto.activated_at
            else "-",
        }
        return _event(
            at,
            "attached",
            text,
            account_kind=source,
            nemkonto_version=nemkonto.pk,
            active_from=nemkonto.activated_at,
            **account,
        )
    if source == AccountSource.GIVEN:
        return _event(
            at,
            "attached",
            gettext("Complete payment: the account was given by the payer."),
            account_kind=source,
            **account,
        )
    return None


def _failure(payment: Payment, *, with_accounts: bool) -> dict[str, Any]:
    handling = payment.failure_handling or (
        FailureHandling.WAITING if payment.status == PaymentStatus.WAITING else ""
    )
    choice = (
        FailureHandling(handling).label if handling in FailureHandling.values else handling or "-"
    )
    text = gettext("No account: failure choice %(choice)s. %(answer)s") % {
        "choice": str(choice).lower(),
        "answer": return_text(payment),
    }
    details: dict[str, Any] = {
        "account_kind": AccountSource.NONE,
        "return_code": payment.return_code,
        "failure_handling": handling or None,
    }
    if with_accounts and handling == FailureHandling.ERROR_ACCOUNT:
        details["account"] = masked_account(payment)
    event = "waiting" if payment.status == PaymentStatus.WAITING else "failed"
    if payment.status == PaymentStatus.REJECTED:
        event = "rejected"
    return _event(payment.processed_at, event, text, **details)


def _beyond_events(payment: Payment) -> list[dict[str, Any]]:
    """Held as a possible duplicate (and the decision), and waiting for an account until it was
    released (``payments.duplicates``, ``payments.waiting``)."""
    events = []
    hold = PaymentHold.objects.filter(payment=payment).select_related("duplicate_of").first()
    if hold is not None:
        events.append(
            _event(
                hold.held_at,
                "held",
                gettext(
                    "Held: it repeats payment %(reference)s of batch %(batch)s (same recipient, "
                    "benefit, amount and period)."
                )
                % {"reference": hold.duplicate_of.reference, "batch": hold.duplicate_of.batch_id},
                duplicate_of_batch=str(hold.duplicate_of.batch_id),
                duplicate_of_reference=hold.duplicate_of.reference,
            )
        )
        if hold.decided_at is not None:
            confirmed = hold.decision == PaymentHold.Decision.CONFIRMED
            events.append(
                _event(
                    hold.decided_at,
                    "confirmed" if confirmed else "rejected_duplicate",
                    (
                        gettext("Confirmed by %(by)s: to be paid.")
                        if confirmed
                        else gettext("Rejected by %(by)s as a duplicate: not paid.")
                    )
                    % {"by": hold.decided_by_label or "-"},
                    by=hold.decided_by_label or None,
                )
            )
    if payment.waiting_since is not None and payment.status != PaymentStatus.WAITING:
        events.append(
            _event(
                payment.waiting_since,
                "waiting",
                gettext("Held on the waiting account: the recipient had no account."),
                account_kind=AccountSource.NONE,
                return_code=7,
                failure_handling=FailureHandling.WAITING,
            )
        )
    return events


def _sort_key(event: dict[str, Any]) -> datetime.datetime:
    at = event["at"]
    if isinstance(at, datetime.datetime):
        return at
    # A booking date sorts after everything else of that day.
    return timezone.make_aware(datetime.datetime.combine(at, datetime.time.max))


def payment_history(*, payment: Payment, with_accounts: bool = False) -> list[dict[str, Any]]:
    """The payment's events in time order: received, validated and attached (which account
    version, and why) or rejected or failed, stopped, forwarded, the bank's answer, booked.

    Each event is ``{"at", "event", "text", "details"}``. Accounts appear (masked) only with
    ``with_accounts``: payment systems are not entitled to see the accounts attached.
    """
    events = [
        _event(
            payment.received_at,
            "received",
            gettext("Received in batch %(batch)s (%(format)s), line %(line)s.")
            % {
                "batch": payment.batch_id,
                "format": payment.batch.get_source_format_display(),
                "line": payment.line,
            },
            batch_id=str(payment.batch_id),
            format=payment.batch.source_format,
            line=payment.line,
        )
    ]
    code = payment.return_code
    if code in (1, 2):
        events.append(
            _event(
                payment.processed_at or payment.received_at,
                "rejected",
                return_text(payment),
                return_code=code,
                field=payment.return_field or None,
                reason=payment.return_reason or None,
            )
        )
    elif payment.processed_at is not None:
        events.append(
            _event(
                payment.processed_at,
                "validated",
                gettext("The recipient ID exists in the CPR/CVR register."),
            )
        )
        attached = _attached(payment, with_accounts=with_accounts)
        if attached is not None:
            events.append(attached)
        elif code == 7:
            events.append(_failure(payment, with_accounts=with_accounts))
    events += _beyond_events(payment)
    if payment.stopped_at is not None:
        by = payment.stopped_by_label or "-"
        events.append(
            _event(
                payment.stopped_at,
                "stopped",
                gettext("Stopped by %(by)s before it was forwarded.") % {"by": by},
                by=by,
            )
        )
    if payment.forwarded_at is not None:
        file = payment.bank_file
        events.append(
            _event(
                payment.forwarded_at,
                "forwarded",
                gettext("Forwarded to the bank in file %(file)s with value date %(date)s.")
                % {
                    "file": file.message_id if file else "-",
                    "date": payment.value_date.isoformat(),
                },
                message_id=file.message_id if file else None,
                value_date=payment.value_date,
            )
        )
    if payment.answered_at is not None and code in (8, 9):
        events.append(
            _event(
                payment.answered_at,
                "bank_received" if code == 8 else "bank_error",
                return_text(payment),
                return_code=code,
                reason=payment.return_reason or None,
            )
        )
    if payment.booked_at is not None:
        events.append(
            _event(
                payment.booked_at,
                "booked",
                gettext("Booked by the bank on %(date)s (camt.054).")
                % {"date": payment.booked_at.isoformat()},
                booked_on=payment.booked_at,
            )
        )
    return sorted(events, key=_sort_key)
