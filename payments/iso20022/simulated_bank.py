"""Pure file-in/file-out core of the simulated bank (the DB-aware command wraps it).

:func:`answer_pain001` reads one of our pain.001 files in a single streaming pass and writes
the bank's two answers at the same time:

* ``<original MsgId>.pain002.xml``: a status for every transaction, ``ACCP`` or ``RJCT``;
* ``<original MsgId>.camt054.xml``: a booked debit of the authority's account for every
  accepted transaction, booked on its requested execution date (the value date).

Rejections are deterministic, so a rerun gives the same answer: a transaction is rejected when
a hash of ``seed`` and its end-to-end id falls below ``reject_rate``, with a plausible ISO
reason drawn from the same hash (AC01 incorrect account number, AC04 closed account, AC06
blocked account, AM05 duplication). A transaction whose remittance text contains ``REJECT``
is always rejected (so tests can force a bank rejection): with reason ``XXXX`` when the text
holds ``REJECT:XXXX`` (a 4-character code), else AC01. The answers' message ids are derived
from the original message id, so they are stable across reruns as well.

Booking mistakes, for the reconciliation (``payments.reconciliation``), are forced the same way
by a word in the remittance text of an accepted transaction: ``UNBOOKED`` (accepted, never
booked), ``MISBOOKED`` (booked 1.00 kr. more than sent), ``DOUBLEBOOKED`` (booked twice) and
``GHOSTBOOKED`` (booked, plus a booking of an end-to-end id that was never sent).

Both files are written under temporary names in ``out_dir`` and moved into place with
``os.replace`` only when both are complete: a crash leaves no half-written answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Final

from payments.iso20022.camt054 import BookedEntry, Camt054Writer
from payments.iso20022.common import decimal_to_ore
from payments.iso20022.pain001_reader import iter_pain001
from payments.iso20022.pain002 import Pain002Writer, TxStatus

__all__ = [
    "REJECT_MARKER",
    "REJECT_REASONS",
    "BankAnswer",
    "answer_pain001",
    "bookings",
    "decide",
]

REJECT_MARKER: Final = "REJECT"
REJECT_REASONS: Final = ("AC01", "AC04", "AC06", "AM05")
DEFAULT_MARKER_REASON: Final = "AC01"
_MARKER_REASON = re.compile(r"REJECT:([A-Z0-9]{4})")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class BankAnswer:
    pain002_path: Path
    camt054_path: Path
    accepted: int
    rejected: int
    original_message_id: str = ""
    accepted_sum_ore: int = 0


def decide(seed: int | str, end_to_end_id: str, text: str, reject_rate: float) -> str | None:
    """The rejection reason for a transaction, or None when the bank accepts it."""
    if REJECT_MARKER in text:
        match = _MARKER_REASON.search(text)
        return match.group(1) if match else DEFAULT_MARKER_REASON
    if reject_rate <= 0:
        return None
    digest = hashlib.blake2b(f"{seed}\x00{end_to_end_id}".encode(), digest_size=16).digest()
    draw = int.from_bytes(digest[:8], "big") / 2.0**64
    if draw >= reject_rate:
        return None
    return REJECT_REASONS[digest[8] % len(REJECT_REASONS)]


def bookings(
    end_to_end_id: str, amount_ore: int, booked_on: date | None, text: str
) -> list[BookedEntry]:
    """What the bank books for an accepted transaction: one entry of its amount, unless the text
    asks for a booking mistake (see the module doc)."""
    entry = BookedEntry(end_to_end_id=end_to_end_id, amount_ore=amount_ore, booking_date=booked_on)
    if "UNBOOKED" in text:
        return []
    if "MISBOOKED" in text:
        return [entry._replace(amount_ore=amount_ore + 100)]
    if "DOUBLEBOOKED" in text:
        return [entry, entry]
    if "GHOSTBOOKED" in text:
        return [entry, entry._replace(end_to_end_id=f"{end_to_end_id}-GHOST"[:35])]
    return [entry]


def _answer_id(prefix: str, original_message_id: str) -> str:
    digest = hashlib.blake2b(original_message_id.encode(), digest_size=12).hexdigest()
    return f"{prefix}-{digest}"  # <= 35 characters


def _filename_stem(message_id: str) -> str:
    stem = _UNSAFE_FILENAME.sub("_", message_id).lstrip(".")
    return stem or "message"


def answer_pain001(
    pain001_path: Path,
    out_dir: Path,
    *,
    reject_rate: float,
    seed: int | str,
    now: datetime,
) -> BankAnswer:
    """Answer a pain.001 file with a pain.002 and a camt.054 in ``out_dir`` (see module doc).

    The input is validated against the XSD while it is read; an invalid file raises
    :class:`~payments.iso20022.errors.InvalidXml` and leaves nothing in ``out_dir``.
    """
    if not 0.0 <= reject_rate <= 1.0:
        raise ValueError("reject_rate must be between 0 and 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    temporaries: list[Path] = []
    try:
        with contextlib.ExitStack() as stack:
            doc = stack.enter_context(iter_pain001(pain001_path))
            pain002_out = stack.enter_context(_temporary(out_dir, temporaries))
            camt054_out = stack.enter_context(_temporary(out_dir, temporaries))
            original = doc.message_id
            statuses = Pain002Writer(
                pain002_out,
                message_id=_answer_id("P2", original),
                created_at=now,
                original_message_id=original,
            )
            booked = Camt054Writer(
                camt054_out,
                message_id=_answer_id("C54", original),
                created_at=now,
                account_iban=doc.debtor_account_iban or "DK0000000000000000",
                booking_date=doc.requested_execution_date or now.date(),
            )
            for tx in doc:
                reason = decide(seed, tx.end_to_end_id, tx.remittance_text, reject_rate)
                pmtinf = tx.payment_information_id
                if reason is not None:
                    statuses.add(TxStatus(tx.end_to_end_id, "RJCT", reason, pmtinf))
                    continue
                statuses.add(TxStatus(tx.end_to_end_id, "ACCP", None, pmtinf))
                amount = decimal_to_ore(tx.amount, "InstdAmt", tx.line)
                for entry in bookings(
                    tx.end_to_end_id, amount, tx.requested_execution_date, tx.remittance_text
                ):
                    booked.add(entry)
            status_totals = statuses.close()
            booked_totals = booked.close()
            for out in (pain002_out, camt054_out):
                out.flush()
                os.fsync(out.fileno())
        stem = _filename_stem(original)
        pain002_path = out_dir / f"{stem}.pain002.xml"
        camt054_path = out_dir / f"{stem}.camt054.xml"
        os.replace(temporaries[0], pain002_path)
        os.replace(temporaries[1], camt054_path)
        temporaries.clear()
    finally:
        for leftover in temporaries:
            leftover.unlink(missing_ok=True)
    return BankAnswer(
        pain002_path=pain002_path,
        camt054_path=camt054_path,
        accepted=status_totals.accepted,
        rejected=status_totals.rejected,
        original_message_id=original,
        accepted_sum_ore=booked_totals.sum_ore,
    )


@contextlib.contextmanager
def _temporary(out_dir: Path, created: list[Path]) -> Iterator[BinaryIO]:
    """A new hidden file in ``out_dir``, remembered in ``created`` (for cleanup or rename)."""
    fd, name = tempfile.mkstemp(dir=out_dir, prefix=".bank-", suffix=".tmp")
    created.append(Path(name))
    with os.fdopen(fd, "wb") as handle:
        yield handle
