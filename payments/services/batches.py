"""Receiving a batch from a payment system (API.md, Submit a batch; ARCHITECTURE.md section 4).

The envelope is checked against the organisation, the rows are validated one by one while they
stream into a staging table with COPY, and one INSERT ... SELECT turns them into payments. Either
all of it is stored, or (an envelope error, an unknown benefit, a malformed body) nothing is.
"""

import datetime
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import ApiClient, LosUnit
from nemkonto.errors import Conflict, ValidationFailed
from payments.calendar import COPENHAGEN, CUT_OFF, add_bank_days, value_date_for_request
from payments.dry_run import DryRunRows, DryRunTarget, staged_dry_run
from payments.intake import Envelope, SpooledBody, read_batch
from payments.intake_rows import stage_row
from payments.models import BankAgreement, Batch, ConnectionAgreement
from payments.pipeline import IntakeTarget, stage_rows, staged_insert, staged_unknown_benefits

IDEMPOTENCY_KEY_MAX = 200
# A batch may ask for a value date up to a year ahead (the bank-day calendar is known that far).
VALUE_DATE_MAX_DAYS_AHEAD = 366
_IDEMPOTENCY_LOCK = 7302


@dataclass(frozen=True)
class SubmitResult:
    """The 202 answer, and whether it is the replay of an earlier identical request; for a dry
    run, the answer's head and the rows' outcomes to stream after it (nothing stored)."""

    answer: dict[str, Any]
    replayed: bool
    dry_run: DryRunRows | None = None


def request_hash(body: SpooledBody, source_format: str, params: Mapping[str, Any]) -> str:
    """What makes two requests "the same" for idempotency: format, envelope parameters, body."""
    query = json.dumps(sorted((k, str(params.get(k))) for k in params), ensure_ascii=True)
    return hashlib.sha256(f"{source_format}\n{query}\n{body.sha256}".encode()).hexdigest()


def _idempotency_key(key: str) -> str:
    key = key.strip()
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ValidationFailed(
            _("The Idempotency-Key must be at most %(max)d printable characters.")
            % {"max": IDEMPOTENCY_KEY_MAX},
            field="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    return key


def _replay(client: ApiClient, key: str, digest: str) -> SubmitResult | None:
    """The first answer for this key, or None; 409 while the first request is still running
    and 422 when the key was used for another body."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))",
            [_IDEMPOTENCY_LOCK, f"{client.pk}:{key}"],
        )
        (locked,) = cursor.fetchone() or (False,)
    if not locked:
        raise Conflict(
            _("A request with this Idempotency-Key is still being processed; try again shortly."),
            field="Idempotency-Key",
            code="request_in_progress",
        )
    earlier = Batch.objects.filter(api_client=client, idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise ValidationFailed(
            _("This Idempotency-Key was used for a different request."),
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return SubmitResult(answer=earlier.answer, replayed=True)


def _envelope_targets(client: ApiClient, envelope: Envelope) -> tuple[LosUnit, BankAgreement]:
    """The envelope's LOS unit and bank agreement; ValidationFailed naming every wrong field."""
    authority = client.authority
    assert authority is not None, "payment-system clients act for an authority"
    errors: list[dict[str, str]] = []

    def error(field: str, code: str, message: str) -> None:
        errors.append({"field": field, "code": code, "message": message})

    if envelope.authority != authority.code:
        error(
            "authority",
            "not_your_authority",
            _("The API client sends for authority %(code)s, not %(given)s.")
            % {"code": authority.code, "given": envelope.authority},
        )
    unit = LosUnit.objects.filter(authority=authority, code=envelope.los_unit).first()
    if unit is None:
        error(
            "los_unit",
            "unknown_los_unit",
            _("%(authority)s has no LOS unit %(code)s.")
            % {"authority": authority.name, "code": envelope.los_unit},
        )
    elif unit.closed_at is not None:
        error(
            "los_unit",
            "closed_los_unit",
            _("The LOS unit %(code)s is closed.") % {"code": unit.code},
        )
    bank_agreement = (
        BankAgreement.objects.select_related("bank")
        .filter(authority=authority, number=envelope.bank_agreement)
        .first()
    )
    if bank_agreement is None:
        error(
            "bank_agreement",
            "unknown_bank_agreement",
            _("%(authority)s has no bank agreement with the number %(number)s.")
            % {"authority": authority.name, "number": envelope.bank_agreement},
        )
    if errors or unit is None or bank_agreement is None:
        raise ValidationFailed(
            _("The batch's envelope has errors; see the list of errors."),
            code="invalid_envelope",
            errors=errors,
        )
    return unit, bank_agreement


def _cut_off(value_date: datetime.date) -> datetime.datetime:
    """The cut-off whose cycle pays on ``value_date`` (06:00 on the bank day before it)."""
    return datetime.datetime.combine(add_bank_days(value_date, -1), CUT_OFF, tzinfo=COPENHAGEN)


def _refuse_unknown_benefits(client: ApiClient) -> None:
    assert client.authority is not None
    unknown = staged_unknown_benefits(client.authority)
    if not unknown:
        return
    errors = [
        {
            "field": f"payments[{line}].benefit",
            "code": "inactive_benefit" if inactive else "unknown_benefit",
            "message": (
                _("The benefit %(code)s is no longer active.")
                if inactive
                else _("%(authority)s has no benefit %(code)s.")
            )
            % {"code": code, "authority": client.authority.name},
        }
        for line, code, inactive in unknown
    ]
    raise ValidationFailed(
        _("The batch names benefits the authority does not have; nothing was stored."),
        code="unknown_benefit",
        errors=errors,
    )


def _value_date(
    envelope: Envelope,
    bank_agreement: BankAgreement,
    agreement: ConnectionAgreement,
    now: datetime.datetime,
) -> datetime.date:
    """The batch's value date; ValidationFailed when the requested date is more than a year
    ahead, or (a real batch) before the connection agreement's go-live date or before the bank
    agreement pays via NemKonto (an approved connection request's bank agreement pays from the
    go-live date: that is named first). A test batch only reaches the simulated bank, so it is
    held to neither."""
    requested = envelope.requested_value_date
    latest = now.astimezone(COPENHAGEN).date() + datetime.timedelta(days=VALUE_DATE_MAX_DAYS_AHEAD)
    if requested is not None and requested > latest:
        raise ValidationFailed(
            _("The requested value date can be at most %(days)d days ahead.")
            % {"days": VALUE_DATE_MAX_DAYS_AHEAD},
            field="requested_value_date",
            code="too_far_ahead",
        )
    value_date = value_date_for_request(now, requested)
    go_live = agreement.go_live_on
    if go_live is not None and value_date < go_live and not agreement.in_test:
        raise ValidationFailed(
            _(
                "The connection agreement with %(system)s goes live on %(date)s: the value date "
                "%(value_date)s is before it."
            )
            % {
                "system": agreement.payment_system.name,
                "date": go_live.isoformat(),
                "value_date": value_date.isoformat(),
            },
            field="requested_value_date",
            code="before_go_live",
        )
    if value_date < bank_agreement.pays_from and not agreement.in_test:
        raise ValidationFailed(
            _("The bank agreement %(number)s pays via NemKonto from %(date)s.")
            % {"number": bank_agreement.number, "date": bank_agreement.pays_from.isoformat()},
            field="bank_agreement",
            code="bank_agreement_not_started",
        )
    return value_date


def _stage(client: ApiClient, payments: Iterator[Any]) -> int:
    """Check and COPY the rows into this transaction's staging table; returns how many.
    ValidationFailed when there are none, or when they name benefits the authority lacks."""
    received = stage_rows(stage_row(line, item).as_copy_row() for line, item in enumerate(payments))
    if received == 0:
        raise ValidationFailed(_("The batch has no payments."), field="payments", code="required")
    _refuse_unknown_benefits(client)
    return received


def _dry_run(
    client: ApiClient,
    agreement: ConnectionAgreement,
    envelope: Envelope,
    payments: Iterator[Any],
    now: datetime.datetime,
) -> SubmitResult:
    """Check the envelope and the rows as a submission would, work out the outcome of every
    row, and roll it all back. Only an audit record of the dry run stays (who, how many rows,
    the counts): it tells no more than the counts, and a run that shows which IDs exist does not
    go unrecorded."""
    with transaction.atomic():
        unit, bank_agreement = _envelope_targets(client, envelope)
        value_date = _value_date(envelope, bank_agreement, agreement, now)
        received = _stage(client, payments)
        rows = staged_dry_run(
            DryRunTarget(
                authority_id=agreement.authority_id,
                payment_system_id=agreement.payment_system_id,
                agreement=agreement,
                requested_value_date=envelope.requested_value_date,
                value_date=value_date,
                now=now,
            )
        )
        transaction.set_rollback(True)
    audit_record(
        actor=None,
        action="batch.dry_run",
        target=agreement,
        authority=agreement.authority,
        data={
            "api_client": client.pk,
            "los_unit": unit.code,
            "received": received,
            **rows.summary,
        },
    )
    head = {
        "dry_run": True,
        "received": received,
        "expected_value_date": value_date.isoformat(),
        "cut_off": _cut_off(value_date).astimezone(COPENHAGEN).isoformat(),
    }
    return SubmitResult(answer=head, replayed=False, dry_run=rows)


def batch_submit(
    *,
    client: ApiClient,
    agreement: ConnectionAgreement,
    body: SpooledBody,
    source_format: str,
    params: Mapping[str, Any],
    idempotency_key: str = "",
    now: datetime.datetime | None = None,
) -> SubmitResult:
    """Store a batch and queue its processing; returns the 202 answer (or the replay of it).
    With ``dry_run`` in the envelope: the outcome of every row, and nothing stored.

    Raises ValidationFailed (envelope, benefits, idempotency key reused), Conflict (the same
    key still in progress), MalformedBody and BodyTooLarge (from reading the body).
    """
    key = _idempotency_key(idempotency_key) if idempotency_key else ""
    digest = request_hash(body, source_format, params)
    now = now or timezone.now()
    with transaction.atomic():
        envelope, payments = read_batch(body, source_format, params)
        envelope.check()
        if envelope.dry_run:
            # Nothing is created, so there is nothing to replay: the key is not looked at.
            return _dry_run(client, agreement, envelope, payments, now)
        if key:
            replay = _replay(client, key, digest)
            if replay is not None:
                return replay
        unit, bank_agreement = _envelope_targets(client, envelope)
        value_date = _value_date(envelope, bank_agreement, agreement, now)
        received = _stage(client, payments)
        batch = Batch.objects.create(
            authority_id=agreement.authority_id,
            payment_system_id=agreement.payment_system_id,
            agreement=agreement,
            los_unit=unit,
            bank_agreement=bank_agreement,
            api_client=client,
            source_format=source_format,
            idempotency_key=key,
            request_hash=digest,
            requested_value_date=envelope.requested_value_date,
            expected_value_date=value_date,
            cut_off=_cut_off(value_date),
            received_at=now,
            touched_at=now,
            received_count=received,
            is_test=agreement.in_test,
        )
        staged_insert(
            IntakeTarget(
                batch_id=str(batch.pk),
                authority_id=agreement.authority_id,
                los_unit_id=unit.pk,
                payment_system_id=agreement.payment_system_id,
                bank_agreement_id=bank_agreement.pk,
                requested_value_date=envelope.requested_value_date,
                value_date=value_date,
                received_at=now,
                is_test=batch.is_test,
            )
        )
        answer = batch_answer(batch)
        Batch.objects.filter(pk=batch.pk).update(answer=answer)
        # Robust: with the broker away the batch is still stored and answered (the error is
        # logged), and the sweeper queues its processing once the broker is back.
        transaction.on_commit(lambda: _queue_processing(str(batch.pk)), robust=True)
    return SubmitResult(answer=answer, replayed=False)


def _queue_processing(batch_id: str) -> None:
    from payments.tasks import batch_process

    batch_process.delay(batch_id)


def batch_answer(batch: Batch) -> dict[str, Any]:
    """The 202 answer of API.md for a stored batch."""
    own = f"{reverse('batch-submit')}/{batch.pk}"
    return {
        "batch_id": str(batch.pk),
        "status": Batch.Status.RECEIVED.value,
        "received": batch.received_count,
        "expected_value_date": batch.expected_value_date.isoformat(),
        "cut_off": batch.cut_off.astimezone(COPENHAGEN).isoformat(),
        "test": batch.is_test,
        "links": {
            "self": own,
            "payments": f"{own}/payments",
        },
    }
