"""Banks' bulk NemKonto reports (API.md, Banks: ``POST /api/v1/nemkonto/bulk``; issue 5).

Two steps, like the payment pipeline (ARCHITECTURE.md section 4):

1. ``bank_bulk_submit`` (in the request): checks the envelope, checks the format of every row in
   Python while streaming the rows with ``COPY`` into ``registry_bankbulkrow``, and queues the
   job after the commit. Envelope errors raise and store nothing; row errors only reject the row.
2. ``bank_bulk_apply`` (a Celery task, by job id): the whole job in **one transaction** with a
   fixed number of SQL statements, whatever the number of rows: the job's rows are copied into a
   temporary table and analysed; one statement locks their recipients; one builds the work table
   (the join against the register, the versions in force, the changes waiting, the logins, and
   the ids of the versions to write); then one ``UPDATE`` ends the versions in force and cancels
   the changes waiting for activation or review, one ``INSERT ... SELECT`` writes the new
   versions, one the notices, one the audit records, and one ``UPDATE`` every row's result.

The outcome is the one ``nemkonto_report_by_bank`` gives for each change on its own: the same
checks (the bank's own accounts only, never foreign ones; a reported account that is already the
NemKonto writes no version), the same version rows (channel ``bank``, label ``bank <reg>``, the
reporting bank), the same notices (to the recipient, and about the old account) and the same
audit records, written set-wise. Checks reuse ``registry.identifiers`` and the services' helpers;
the fast paths below only accept rows those rules accept (a test compares them).

Our rules:

- **The same recipient twice in one report: the last valid row wins.** The earlier rows get the
  result ``superseded`` (with the index of the row that won) and write nothing: a version that
  would be replaced in the same instant is never in force. A rejected row does not supersede.
- A rejected row lists every problem found; the first is the error the single report would have
  answered (an unknown field, the ID, "not in the register", then the account).
- Messages in the results are in the language of the request that submitted the job; notices to
  recipients are in the default language (``LANGUAGE_CODE``), as single reports' notices.
- The task may run twice: the job row is locked for the whole pass and only a job still
  ``received`` or ``processing`` is applied, so a second run changes nothing.
"""

import datetime
import functools
import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from schwifty import registry as schwifty_registry

from accounts.audit import SYSTEM_LABEL, audit_record
from accounts.models import ApiClient, AuditEvent, Bank, User
from nemkonto.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.identifiers import DK, MASK
from registry.models import (
    AccountKind,
    BankBulkJob,
    BankBulkRow,
    NemKonto,
    Notice,
    Recipient,
    StoredAccount,
)
from registry.services.common import (
    Who,
    account_from_input,
    not_in_register,
    parse_recipient,
    who_bank,
)
from registry.services.nemkonto import apply_now
from registry.services.notices import _body, notice_texts_author
from registry.services.payments_hook import accounts_changed
from registry.services.risk import RISK_SQL, risk_params
from registry.wording import describe_author

MAX_CHANGES = 100_000
# notices_deliver sends at most 500 notices per call: the notices are queued in chunks of that.
NOTICE_CHUNK = 500
_ROW_KEYS = frozenset({"recipient", "account"})
_FLUSH_ROWS = 5_000
_IDEMPOTENCY_LOCK = 0x4E4B_4242  # advisory lock class of bulk submissions ("NKBB")

Status = BankBulkJob.Status
Outcome = BankBulkRow.Outcome


class BulkJobFailed(ApplicationError):
    """A job that cannot be applied at all (its bank client is gone)."""

    status = 409
    title = "Conflict"


@dataclass(frozen=True)
class BulkSubmission:
    """The job a submission created, or the one it replays (same Idempotency-Key and body)."""

    job: BankBulkJob
    replayed: bool


# --- Which accounts a bank may report ---------------------------------------------------------


@functools.cache
def known_regs() -> frozenset[str]:
    """Every reg.nr. of a Danish bank (``identifiers.is_known_reg`` for each, computed once)."""
    return frozenset(bank.bank_code for bank in schwifty_registry.get_banks_by_country(DK))


def bank_regs(bank: Bank) -> frozenset[str]:
    """The known reg.nr. whose accounts ``bank`` holds: its own and those of its BIC, the rule of
    ``services.nemkonto._account_at_bank`` computed once per job instead of once per row."""
    regs = {bank.reg}
    if bank.bic:
        prefix = bank.bic.upper()[:8]
        regs |= {
            entry.bank_code
            for entry in schwifty_registry.get_banks_by_country(DK)
            if str(entry.bic or "").upper()[:8] == prefix
        }
    return frozenset(regs) & known_regs()


# --- Checking one row -----------------------------------------------------------------------

_CPR_FAST = re.compile(r"([0-9]{6})-?([0-9]{4})").fullmatch
_DIGITS_FAST = re.compile(r"[0-9]+").fullmatch
_NUMBER_FAST = re.compile(r"[0-9]{1,10}").fullmatch
_DK_IBAN_FAST = re.compile(r"DK[0-9]{16}").fullmatch
_DAYS_OF_YEAR = frozenset(
    f"{day:%d%m}" for day in (datetime.date(2000, 1, 1) + datetime.timedelta(n) for n in range(366))
)
_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def _cpr_century(seventh: int, yy: int) -> int:
    # The CPR table, as in registry.identifiers (inlined: it runs for every row).
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def _fast_id(kind: object, raw: object) -> str | None:
    """The normalised number of a clean, valid ID, or None (then the rule decides)."""
    if type(raw) is not str:
        return None
    if kind == "CPR":
        match = _CPR_FAST(raw)
        if match is None:
            return None
        number = match[1] + match[2]
        if number[:4] not in _DAYS_OF_YEAR:
            return None
        if number[:4] == "2902":
            yy = int(number[4:6])
            year = _cpr_century(int(number[6]), yy) + yy
            if year % 4 or (year % 100 == 0 and year % 400):
                return None
        return number
    if kind == "CVR":
        if len(raw) != 8 or raw[0] == "0" or _DIGITS_FAST(raw) is None:
            return None
        total = sum(int(digit) * weight for digit, weight in zip(raw, _CVR_WEIGHTS, strict=True))
        return raw if total % 11 == 0 else None
    if kind == "P":
        return raw if len(raw) == 10 and _DIGITS_FAST(raw) is not None else None
    if kind == "SE":
        return raw if len(raw) == 8 and _DIGITS_FAST(raw) is not None else None
    return None


def _fast_account(account: dict[str, Any], regs: frozenset[str]) -> tuple[str, str] | None:
    """``(reg, number)`` of a clean Danish account held by the bank, or None."""
    if len(account) == 2:
        reg, number = account.get("reg"), account.get("number")
        if type(reg) is str and type(number) is str:
            if reg in regs and _NUMBER_FAST(number) is not None:
                return reg, number.zfill(10)
            return None
    iban = account.get("iban")
    if type(iban) is not str or any(key not in ("iban", "bic") for key in account):
        return None
    if account.get("bic") not in (None, ""):
        return None  # a BIC is checked even with a Danish IBAN: the rule decides
    compact = iban.replace(" ", "").upper()
    if _DK_IBAN_FAST(compact) is None:
        return None
    if int(compact[4:] + "1320" + compact[2:4]) % 97 != 1:  # D = 13, K = 20
        return None
    if compact[4:8] not in regs:
        return None
    return compact[4:8], compact[8:]


def _error(field: str, code: str, message: object) -> dict[str, str]:
    return {"field": field, "code": code, "message": str(message)}


def _not_at_bank(prefix: str, masked: str, bank: Bank) -> dict[str, str]:
    # The words of nemkonto_report_by_bank's refusal.
    return _error(
        f"{prefix}.account",
        "account_not_at_bank",
        _(
            "A bank can only report accounts it holds itself: %(account)s is not an account "
            "of %(bank)s."
        )
        % {"account": masked, "bank": bank.name},
    )


def check_row(
    index: int, item: object, bank: Bank, regs: frozenset[str]
) -> tuple[str, str, str, str, list[dict[str, str]]]:
    """``(id_type, id_number, reg, number, errors)`` of one change, by the rules of a single
    report (``registry.services.common``); an empty value where that part is not valid."""
    if type(item) is dict and len(item) == 2:
        recipient, account = item.get("recipient"), item.get("account")
        if type(recipient) is dict and type(account) is dict:  # so the two keys are these
            kind = recipient.get("type")
            number = _fast_id(kind, recipient.get("id"))
            if number is not None:
                found = _fast_account(account, regs)
                if found is not None:
                    return str(kind), number, found[0], found[1], []
    return _slow_row(index, item, bank, regs)


def _slow_row(
    index: int, item: object, bank: Bank, regs: frozenset[str]
) -> tuple[str, str, str, str, list[dict[str, str]]]:
    prefix = f"changes[{index}]"
    if not isinstance(item, dict):
        message = _('Each change is {"recipient": {"type", "id"}, "account": {...}}.')
        return "", "", "", "", [_error(prefix, "invalid", message)]
    errors = [
        _error(f"{prefix}.{name}", "unknown_field", _("Unknown field."))
        for name in sorted(set(item) - _ROW_KEYS)
    ]
    id_type = id_number = reg = number = ""
    recipient = item.get("recipient")
    if not isinstance(recipient, dict):
        errors.append(
            _error(
                f"{prefix}.recipient",
                "required" if recipient is None else "invalid",
                _('The recipient is {"type": "CPR" | "CVR" | "P" | "SE", "id": "..."}.'),
            )
        )
    elif not isinstance(recipient.get("id"), str):
        errors.append(_error(f"{prefix}.recipient.id", "invalid", _("Give the ID as a string.")))
    else:
        try:
            id_type, id_number = parse_recipient(
                str(recipient.get("type", "")), recipient["id"], prefix=f"{prefix}.recipient"
            )
        except ValidationFailed as error:
            errors.extend(error.field_errors())
    account = item.get("account")
    try:
        stored = account_from_input(
            account if isinstance(account, Mapping) else None, prefix=f"{prefix}.account"
        )
    except ValidationFailed as error:
        errors.extend(error.field_errors())
    else:
        if stored.kind != AccountKind.DANISH or stored.reg not in regs:
            errors.append(_not_at_bank(prefix, stored.masked, bank))
        else:
            reg, number = stored.reg, stored.number
    return id_type, id_number, reg, number, errors


# --- Submitting -------------------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ROWS = BankBulkRow._meta.db_table
_COPY_ROWS = f"""
    COPY {_ROWS} (job_id, "index", id_type, id_number, reg, number, outcome, errors) FROM STDIN
"""


def _require_bank(client: ApiClient) -> Bank:
    if client.kind != ApiClient.Kind.BANK or client.bank is None or not client.is_active:
        raise PermissionDenied(
            _("Only a bank's API client can report NemKonti."), code="bank_client_required"
        )
    return client.bank


def _check_envelope(changes: object) -> list[Any]:
    if not isinstance(changes, list):
        raise ValidationFailed(
            _("changes must be a list of {recipient, account}."),
            field="changes",
            code="not_a_list",
        )
    if not changes:
        raise ValidationFailed(_("The report has no changes."), field="changes", code="empty")
    if len(changes) > MAX_CHANGES:
        raise ValidationFailed(
            _("At most %(limit)d changes per report.") % {"limit": MAX_CHANGES},
            field="changes",
            code="too_many",
        )
    return changes


def _replay(client: ApiClient, key: str, body_hash: str) -> BankBulkJob | None:
    job = BankBulkJob.objects.filter(client=client, idempotency_key=key).first()
    if job is not None and job.body_hash != body_hash:
        raise ValidationFailed(
            _("This Idempotency-Key was used before with another body."),
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return job


def _stream_rows(job: BankBulkJob, changes: list[Any], bank: Bank) -> int:
    """COPY every change into the job's rows, checked; returns how many were rejected."""
    regs = bank_regs(bank)
    job_id = job.pk
    rejected = 0
    batch: list[str] = []
    with connection.cursor() as cursor, cursor.copy(_COPY_ROWS) as copy:
        for index, item in enumerate(changes):
            id_type, id_number, reg, number, errors = check_row(index, item, bank, regs)
            if errors:
                rejected += 1
                # jsonb refuses NUL (even escaped): a field name of the sender's may carry one.
                readable = [{k: v.replace("\x00", "\ufffd") for k, v in e.items()} for e in errors]
                text = json.dumps(readable, ensure_ascii=False).translate(_COPY_ESCAPES)
                batch.append(
                    f"{job_id}\t{index}\t{id_type}\t{id_number}\t\t\t{Outcome.REJECTED}\t{text}\n"
                )
            else:
                batch.append(
                    f"{job_id}\t{index}\t{id_type}\t{id_number}\t{reg}\t{number}\t"
                    f"{Outcome.RECEIVED}\t\\N\n"
                )
            if len(batch) >= _FLUSH_ROWS:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))
    return rejected


@transaction.atomic
def bank_bulk_submit(
    *,
    actor: ApiClient,
    changes: object,
    idempotency_key: str = "",
    body_hash: str = "",
) -> BulkSubmission:
    """A bank submits up to 100,000 NemKonto changes; they are checked, stored and applied by a
    Celery task after the commit. Row errors only reject their row.

    Raises PermissionDenied (not an active bank client), ValidationFailed (not a list, empty,
    more than 100,000 changes, an Idempotency-Key reused with another body), Conflict (a request
    with the same Idempotency-Key is still in progress). Nothing is stored when it raises.
    """
    bank = _require_bank(actor)
    rows = _check_envelope(changes)
    key = idempotency_key.strip()[:200]
    if key:
        lock = zlib.crc32(f"{actor.pk}:{key}".encode()) - 2**31
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_IDEMPOTENCY_LOCK, lock])
            (locked,) = cursor.fetchone()
        if not locked:
            raise Conflict(
                _("A request with this Idempotency-Key is still in progress."),
                field="Idempotency-Key",
                code="request_in_progress",
            )
        previous = _replay(actor, key, body_hash)
        if previous is not None:
            return BulkSubmission(job=previous, replayed=True)
    job = BankBulkJob.objects.create(
        client=actor,
        bank=bank,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        idempotency_key=key,
        body_hash=body_hash if key else "",
        received=len(rows),
    )
    rejected = _stream_rows(job, rows, bank)
    audit_record(
        actor=None,
        action="nemkonto.bulk_receive",
        target=job,
        data={
            "channel": "bank",
            "by": f"bank {bank.reg}",
            "received": len(rows),
            "rejected_on_receipt": rejected,
        },
    )
    _queue_apply(job.pk)
    return BulkSubmission(job=job, replayed=False)


def _queue_apply(job_id: int) -> None:
    def queue() -> None:
        from registry.bulk_tasks import bank_bulk_process

        bank_bulk_process.delay(job_id)

    transaction.on_commit(queue)


def body_digest(body: bytes) -> str:
    """The SHA-256 of a request body, to tell a replay from a reused Idempotency-Key."""
    return hashlib.sha256(body).hexdigest()


# --- Applying -----------------------------------------------------------------------------------

_REC = Recipient._meta.db_table
_NK = NemKonto._meta.db_table
_NOTICE = Notice._meta.db_table
_AUDIT = AuditEvent._meta.db_table
_USER = User._meta.db_table
_NK_LABEL = NemKonto._meta.label
_STAGE = "bank_bulk_stage"
_WORK = "bank_bulk_work"
# Placeholders in texts rendered once per job (whatever the language) and filled in SQL.
_NAME = "\x01name\x01"
_ACCOUNT = "\x01account\x01"


def _masked(alias: str) -> str:
    """SQL for ``StoredAccount.masked`` of the account columns ``alias_kind``, ``alias_number``,
    ``alias_iban``."""
    return (
        f"'{MASK}' || right(CASE WHEN {alias}_kind = '{AccountKind.DANISH}' "
        f"THEN {alias}_number ELSE {alias}_iban END, 4)"
    )


# The job's rows with a well-formed ID, in a temporary table with its own statistics (the
# planner's picture of the shared rows table lags behind a COPY of 100,000 rows).
_CREATE_STAGE = f"""
    CREATE TEMPORARY TABLE {_STAGE} ON COMMIT DROP AS
    SELECT "index", id_type, id_number, reg, number, outcome FROM {_ROWS}
    WHERE job_id = %(job)s AND id_type <> ''
"""  # noqa: S608 - table names from model metadata and constants
# Every change of a recipient's accounts is serialised on the recipient's row (as
# services.common.recipient_lock), so the recipients are locked before their versions are read.
# NO KEY UPDATE: it excludes the services' FOR UPDATE but not the KEY SHARE locks of foreign-key
# checks, so inserting a notice or a version elsewhere never waits on it. In id order, so that
# two bulk jobs cannot deadlock.
_LOCK_RECIPIENTS = f"""
    SELECT count(*) FROM (
        SELECT 1 FROM {_REC} rec
        WHERE (rec.id_type, rec.id_number) IN (
            SELECT id_type, id_number FROM {_STAGE} WHERE outcome = '{Outcome.RECEIVED}'
        )
        ORDER BY rec.id FOR NO KEY UPDATE
    ) locked
"""  # noqa: S608 - table names from model metadata and constants
# After the lock (a new snapshot), every row with a well-formed ID, joined to the register.
# ``applied``: the last valid row of its recipient (the last valid row wins); for it, the version
# in force, the change waiting (if any), the recipient's login e-mail, and the id of the version
# to write unless the account is unchanged. A change held for review is always a foreign account
# and a bank reports only Danish ones, so apply_now's "held with the same account" case cannot
# occur here.
_CREATE_WORK = f"""
    CREATE TEMPORARY TABLE {_WORK} ON COMMIT DROP AS
    SELECT x.*, CASE WHEN x.applied AND NOT x.unchanged THEN nextval(%(sequence)s) END AS new_id,
           false AS risky
    FROM (
        SELECT s."index", s.reg, s.number, s.outcome, s.recipient_id, s.id_type, s.name,
               s.applied, CASE WHEN NOT s.applied THEN s.last_index END AS superseded_by,
               u.email,
               cur.id AS cur_id, cur.account_kind AS cur_kind, cur.reg AS cur_reg,
               cur.number AS cur_number, cur.iban AS cur_iban, cur.bic AS cur_bic,
               wt.id AS wt_id, wt.account_kind AS wt_kind, wt.number AS wt_number,
               wt.iban AS wt_iban,
               coalesce(cur.account_kind = '{AccountKind.DANISH}' AND cur.reg = s.reg
                        AND cur.number = s.number AND cur.iban = '' AND cur.bic = '', false)
                   AS unchanged
        FROM (
            SELECT t.*, coalesce(t."index" = t.last_index, false) AS applied
            FROM (
                SELECT r."index", r.reg, r.number, r.outcome, rec.id AS recipient_id,
                       rec.id_type, rec.id_number, rec.name,
                       max(r."index") FILTER (
                           WHERE r.outcome = '{Outcome.RECEIVED}' AND rec.id IS NOT NULL
                       ) OVER (PARTITION BY rec.id) AS last_index
                FROM {_STAGE} r
                LEFT JOIN {_REC} rec ON rec.id_type = r.id_type AND rec.id_number = r.id_number
            ) t
        ) s
        LEFT JOIN {_NK} cur
               ON s.applied AND cur.recipient_id = s.recipient_id
              AND cur.state = '{NemKonto.State.ACTIVE}'
        LEFT JOIN {_NK} wt
               ON s.applied AND wt.recipient_id = s.recipient_id
              AND wt.state IN ('{NemKonto.State.PENDING}', '{NemKonto.State.HELD}')
        LEFT JOIN {_USER} u
               ON s.applied AND u.recipient_type = s.id_type AND u.recipient_id = s.id_number
              AND u.recipient_id <> '' AND u.is_active AND u.email <> ''
    ) x
"""  # noqa: S608 - table names from model metadata and constants
# A change that looks risky (registry/services/risk.py) leaves the fast path: it is applied
# afterwards by the single report's service, which holds it for review (rare by design).
_MARK_RISKY = f"""
    UPDATE {_WORK} w SET new_id = NULL, wt_id = NULL, risky = true
    FROM ({
    RISK_SQL.replace(
        "{candidates}",
        f"(SELECT new_id AS key, recipient_id, '{AccountKind.DANISH}' AS account_kind, reg,"
        f" number, '' AS iban FROM {_WORK} WHERE new_id IS NOT NULL) c",
    )
}) r(key, reasons)
    WHERE w.new_id = r.key AND cardinality(r.reasons) > 0
"""  # noqa: S608 - table names from model metadata and constants
_RISKY_ROWS = f"""
    SELECT "index", recipient_id, reg, number FROM {_WORK} WHERE risky ORDER BY recipient_id
"""  # noqa: S608 - table names from model metadata and constants
# Not in the register: rejected, and "not in the register" goes first (a single report checks
# the ID before the account).
_REJECT_UNKNOWN = f"""
    UPDATE {_ROWS} r
    SET outcome = '{Outcome.REJECTED}',
        errors = jsonb_build_array(jsonb_build_object(
                     'field', 'changes[' || r."index" || '].recipient.id',
                     'code', %(code)s, 'message', %(message)s))
                 || coalesce(r.errors, '[]'::jsonb)
    FROM {_WORK} w
    WHERE w.recipient_id IS NULL AND r.job_id = %(job)s AND r."index" = w."index"
"""  # noqa: S608 - table names from model metadata and constants
# services.nemkonto._end: the version in force is replaced, a waiting change is superseded.
_END_VERSIONS = f"""
    UPDATE {_NK} v
    SET state = e.state, ended_at = %(now)s, end_reason = e.reason, ended_by_id = NULL,
        ended_by_label = %(label)s, ended_channel = %(channel)s
    FROM (
        SELECT cur_id AS id, '{NemKonto.State.ENDED}' AS state,
               '{NemKonto.EndReason.REPLACED}' AS reason
        FROM {_WORK} WHERE new_id IS NOT NULL AND cur_id IS NOT NULL
        UNION ALL
        SELECT wt_id, '{NemKonto.State.CANCELLED}', '{NemKonto.EndReason.SUPERSEDED}'
        FROM {_WORK} WHERE wt_id IS NOT NULL
    ) e
    WHERE v.id = e.id
"""  # noqa: S608 - table names from model metadata and constants
# services.nemkonto.apply_now + make_active: the new version, in force at once.
_INSERT_VERSIONS = f"""
    INSERT INTO {_NK} (id, recipient_id, state, channel, actor_id, actor_label, authority_id,
                       bank_id, created_at, activated_at, ended_at, end_reason, ended_by_id,
                       ended_by_label, ended_channel, account_kind, reg, number, iban, bic,
                       hold_reasons)
    SELECT new_id, recipient_id, '{NemKonto.State.ACTIVE}', %(channel)s, NULL, %(label)s, NULL,
           %(bank)s, %(now)s, %(now)s, NULL, '', NULL, '', '', '{AccountKind.DANISH}', reg,
           number, '', '', '[]'::jsonb
    FROM {_WORK} WHERE new_id IS NOT NULL
    ORDER BY recipient_id
"""  # noqa: S608 - table names from model metadata and constants
# services.notices.notices_queue: the recipient's notice (e-mail to their login, else Digital
# Post) for each cancelled change and each new version, and the notice about the old account.
_PRIMARY_CHANNEL = (
    f"CASE WHEN a.email IS NULL THEN '{Notice.Channel.DIGITAL_POST}' "
    f"ELSE '{Notice.Channel.EMAIL}' END"
)
_PRIMARY_ADDRESS = "coalesce(a.email, left(a.id_type || ' ' || a.name, 254))"
_INSERT_NOTICES = f"""
    INSERT INTO {_NOTICE} (recipient_id, kind, channel, to_address, subject, body, created_at,
                           sent_at, attempts, last_error)
    SELECT recipient_id, kind, channel, to_address, subject, body, %(now)s, NULL, 0, ''
    FROM (
        SELECT a.recipient_id, '{Notice.Kind.NEMKONTO_CANCELLED}' AS kind,
               {_PRIMARY_CHANNEL} AS channel, {_PRIMARY_ADDRESS} AS to_address,
               left(%(cancel_subject)s, 200) AS subject,
               replace(replace(%(cancel_body)s, '{_ACCOUNT}', {_masked("a.wt")}), '{_NAME}',
                       a.name) AS body
        FROM {_WORK} a WHERE a.wt_id IS NOT NULL
        UNION ALL
        SELECT a.recipient_id, '{Notice.Kind.NEMKONTO_CHANGED}', {_PRIMARY_CHANNEL},
               {_PRIMARY_ADDRESS}, left(%(changed_subject)s, 200),
               replace(replace(%(changed_body)s, '{_ACCOUNT}', '{MASK}' || right(a.number, 4)),
                       '{_NAME}', a.name)
        FROM {_WORK} a WHERE a.new_id IS NOT NULL
        UNION ALL
        SELECT a.recipient_id, '{Notice.Kind.OLD_ACCOUNT}', '{Notice.Channel.OLD_ACCOUNT}',
               CASE WHEN a.cur_reg <> '' THEN 'reg.nr. ' || a.cur_reg ELSE 'BIC ' || a.cur_bic END,
               replace(%(old_subject)s, '{_ACCOUNT}', {_masked("a.cur")}),
               replace(replace(%(old_body)s, '{_ACCOUNT}', {_masked("a.cur")}), '{_NAME}', a.name)
        FROM {_WORK} a WHERE a.new_id IS NOT NULL AND a.cur_id IS NOT NULL
    ) n
    RETURNING id
"""  # noqa: S608 - table names from model metadata and constants
# accounts.audit.audit_record as services.nemkonto._audit writes it (no user: label "system").
_INSERT_AUDIT = f"""
    INSERT INTO {_AUDIT} (at, actor_id, actor_label, action, target_type, target_id,
                          authority_id, data)
    SELECT %(now)s, NULL::bigint, '{SYSTEM_LABEL}', 'nemkonto.cancel', '{_NK_LABEL}',
           a.wt_id::text, NULL::bigint,
           jsonb_build_object('recipient', a.recipient_id, 'channel', %(channel)s,
                              'by', %(label)s, 'account', {_masked("a.wt")},
                              'state', '{NemKonto.State.CANCELLED}',
                              'reason', '{NemKonto.EndReason.SUPERSEDED}')
    FROM {_WORK} a WHERE a.wt_id IS NOT NULL
    UNION ALL
    SELECT %(now)s, NULL::bigint, '{SYSTEM_LABEL}', 'nemkonto.change', '{_NK_LABEL}',
           a.new_id::text, NULL::bigint,
           jsonb_build_object('recipient', a.recipient_id, 'channel', %(channel)s,
                              'by', %(label)s, 'account', '{MASK}' || right(a.number, 4),
                              'state', '{NemKonto.State.ACTIVE}', 'previous', a.cur_id)
    FROM {_WORK} a WHERE a.new_id IS NOT NULL
"""  # noqa: S608 - table names from model metadata and constants
_WRITE_RESULTS = f"""
    UPDATE {_ROWS} r
    SET outcome = CASE WHEN NOT w.applied THEN '{Outcome.SUPERSEDED}'
                       WHEN w.unchanged THEN '{Outcome.UNCHANGED}'
                       ELSE '{Outcome.CHANGED}' END,
        version_id = CASE WHEN w.applied THEN coalesce(w.new_id, w.cur_id) END,
        superseded_by = w.superseded_by
    FROM {_WORK} w
    WHERE w.outcome = '{Outcome.RECEIVED}' AND w.recipient_id IS NOT NULL AND NOT w.risky
      AND r.job_id = %(job)s AND r."index" = w."index"
"""  # noqa: S608 - table names from model metadata and constants
_COUNT_OUTCOMES = f"""
    SELECT outcome, count(*) FROM {_ROWS} WHERE job_id = %(job)s GROUP BY outcome
"""  # noqa: S608 - table names from model metadata and constants


def _notice_texts(who: Who, at: datetime.datetime) -> dict[str, str]:
    """The notices' subjects and bodies with placeholders for the name and the account, in the
    words of services.nemkonto (cancel_waiting, make_active) and services.notices."""
    person = Recipient(name=_NAME)
    with translation.override(settings.LANGUAGE_CODE):
        author = notice_texts_author(who)
        old_author = describe_author(who.channel, who.label, None)
        return {
            "cancel_subject": _("A change of your NemKonto was cancelled"),
            "cancel_body": _body(
                person,
                [
                    _(
                        "The change of your NemKonto to %(account)s, which was waiting to take "
                        "effect, was cancelled because %(author)s made a newer change."
                    )
                    % {"account": _ACCOUNT, "author": author}
                ],
            ),
            "changed_subject": _("Your NemKonto has been changed"),
            "changed_body": _body(
                person,
                [
                    _(
                        "From %(date)s, public payments to you go to the account %(account)s. "
                        "The change was made by %(author)s."
                    )
                    % {
                        "date": timezone.localtime(at).strftime("%d.%m.%Y %H:%M"),
                        "account": _ACCOUNT,
                        "author": author,
                    }
                ],
            ),
            "old_subject": _("Your account %(account)s is no longer used for public payments")
            % {"account": _ACCOUNT},
            "old_body": _body(
                person,
                [
                    _(
                        "Public payments to you will no longer go to the account %(account)s. "
                        "The change was made by %(author)s."
                    )
                    % {"account": _ACCOUNT, "author": old_author}
                ],
            ),
        }


def _queue_notices(notice_ids: list[int]) -> None:
    if not notice_ids:
        return

    def send() -> None:
        from registry.tasks import notices_send

        for start in range(0, len(notice_ids), NOTICE_CHUNK):
            notices_send.delay(notice_ids[start : start + NOTICE_CHUNK])

    transaction.on_commit(send)


def _mark_processing(job_id: int) -> None:
    with transaction.atomic():
        BankBulkJob.objects.filter(pk=job_id, status=Status.RECEIVED).update(
            status=Status.PROCESSING, started_at=timezone.now()
        )


def bank_bulk_apply(*, job_id: int) -> BankBulkJob | None:
    """Apply a received job in one transaction and write every row's result; a job already
    done or failed is left alone (the task may run twice). Returns the job, None if unknown.
    Raises BulkJobFailed (the job's client is no longer an active bank client)."""
    _mark_processing(job_id)
    with transaction.atomic():
        job = (
            BankBulkJob.objects.select_for_update(of=("self",))
            .select_related("client__bank", "bank")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status not in (Status.RECEIVED, Status.PROCESSING):
            return job
        if job.client.bank_id != job.bank_id:
            raise BulkJobFailed(_("The job's API client no longer belongs to its bank."))
        _apply(job)
    return job


def _apply(job: BankBulkJob) -> None:
    who = who_bank(job.client)
    now = timezone.now()
    params: dict[str, Any] = {
        "job": job.pk,
        "now": now,
        "label": who.label,
        "channel": str(who.channel),
        "bank": job.bank_id,
        **_notice_texts(who, now),
    }
    with translation.override(job.language):
        unknown = not_in_register("")
        params["code"], params["message"] = unknown.code, str(unknown.message)
    with connection.cursor() as cursor:
        # One job sorts and hashes ~100,000 rows a statement: room for that, for this
        # transaction only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_CREATE_STAGE, params)
        cursor.execute(f"ANALYZE {_STAGE} (id_type, id_number, outcome)")
        cursor.execute(_LOCK_RECIPIENTS, params)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_NK])
        (sequence,) = cursor.fetchone()
        cursor.execute(_CREATE_WORK, {**params, "sequence": sequence})
        cursor.execute(f'ANALYZE {_WORK} ("index", recipient_id, outcome, new_id, cur_id, wt_id)')
        cursor.execute(_MARK_RISKY, {**params, **risk_params(now, saved=False)})
        cursor.execute(_REJECT_UNKNOWN, params)
        cursor.execute(_END_VERSIONS, params)
        cursor.execute(_INSERT_VERSIONS, params)
        cursor.execute(_INSERT_NOTICES, params)
        notice_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(_INSERT_AUDIT, params)
        cursor.execute(_WRITE_RESULTS, params)
        cursor.execute(_RISKY_ROWS)
        _apply_risky(job, who, cursor.fetchall())
        cursor.execute(_COUNT_OUTCOMES, params)
        counts = {outcome: int(count) for outcome, count in cursor.fetchall()}
        # Dropped now, not only at the commit: a caller's outer transaction may apply more.
        cursor.execute(f"DROP TABLE {_STAGE}, {_WORK}")
    job.status = Status.DONE
    job.finished_at = timezone.now()
    job.changed = counts.get(Outcome.CHANGED, 0)
    job.unchanged = counts.get(Outcome.UNCHANGED, 0)
    job.superseded = counts.get(Outcome.SUPERSEDED, 0)
    job.rejected = counts.get(Outcome.REJECTED, 0)
    job.save(
        update_fields=[
            "status",
            "finished_at",
            "changed",
            "unchanged",
            "superseded",
            "rejected",
        ]
    )
    audit_record(
        actor=None,
        action="nemkonto.bulk_apply",
        target=job,
        data={
            "channel": str(who.channel),
            "by": who.label,
            "received": job.received,
            "changed": job.changed,
            "unchanged": job.unchanged,
            "superseded": job.superseded,
            "rejected": job.rejected,
        },
    )
    _queue_notices(notice_ids)
    if job.changed:
        accounts_changed(None)


def _apply_risky(job: BankBulkJob, who: Who, rows: list[tuple[int, int, str, str]]) -> None:
    """The risky changes, one by one through the single report's service (held for review)."""
    for index, recipient_id, reg, number in rows:
        change = apply_now(
            Recipient.objects.get(pk=recipient_id),
            StoredAccount(kind=AccountKind.DANISH, reg=reg, number=number),
            who=who,
        )
        BankBulkRow.objects.filter(job=job, index=index).update(
            outcome=Outcome.CHANGED, version_id=change.version.pk
        )


@transaction.atomic
def bank_bulk_fail(*, job_id: int, reason: str) -> None:
    """Mark a job that could not be applied as failed (nothing of it was applied)."""
    BankBulkJob.objects.filter(pk=job_id, status__in=[Status.RECEIVED, Status.PROCESSING]).update(
        status=Status.FAILED, finished_at=timezone.now(), error=reason[:500]
    )


# --- Reading ------------------------------------------------------------------------------------


def bank_bulk_job_get(*, client: ApiClient, job_id: int) -> BankBulkJob:
    """A job of the client's bank; raises NotFound for any other (missing or not permitted)."""
    job = None
    if client.kind == ApiClient.Kind.BANK and client.bank_id is not None:
        job = BankBulkJob.objects.filter(pk=job_id, bank_id=client.bank_id).first()
    if job is None:
        raise NotFound(_("There is no bulk report with this id."), code="not_found")
    return job
