"""What must hold after every fault (issue 8): no payment lost, none paid twice, every payment in
exactly one final state (the one its row calls for), and the totals of every bank file match its
payments.

Read with plain SQL from any database (the test database or a private server) and from the files
on both sides of the file-drop adapter: our archive (``<bank>/files``), what the simulated bank
took (``<bank>/delivered``) and the bookings it answered with (camt.054 in ``<bank>/inbox``,
``processed`` and ``uploaded``).
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
from lxml import etree

from payments.models import BankFile, Batch, Payment

FINAL = {"rejected", "stopped", "failed", "bank_received", "bank_error"}
SENT = {"bank_received", "bank_error"}

# What the bank answers for a payment it took: ACCP (code 8, booked) or RJCT (code 9).
Outcome = tuple[str, int]
# Per batch id: reference -> the outcome its row calls for.
Expected = dict[str, dict[str, Outcome]]

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Pain001:
    message_id: str
    transactions: dict[str, int]  # end-to-end id -> amount in øre


@dataclass(frozen=True)
class Checked:
    payments: int
    files: int
    bookings: int
    refused_duplicates: int


def _ore(text: str | None) -> int:
    return int(Decimal(text or "0") * 100)


def read_pain001(path: Path) -> Pain001:
    """The file's transactions, after checking that its group header (and every payment
    information block that has them) carry the count and control sum of its transactions."""
    root = etree.parse(str(path), _SAFE).getroot()
    ns = {"p": root.nsmap[None]}
    transactions: dict[str, int] = {}
    for block in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf", ns):
        amounts = {
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns): _ore(
                tx.findtext("p:Amt/p:InstdAmt", namespaces=ns)
            )
            for tx in block.iterfind("p:CdtTrfTxInf", ns)
        }
        # A block's own count and sum are optional (our writer leaves them out).
        block_id = block.findtext("p:PmtInfId", namespaces=ns)
        if (count := block.findtext("p:NbOfTxs", namespaces=ns)) is not None:
            assert int(count) == len(amounts), (path, block_id)
        if (control_sum := block.findtext("p:CtrlSum", namespaces=ns)) is not None:
            assert _ore(control_sum) == sum(amounts.values()), (path, block_id)
        assert not transactions.keys() & amounts.keys(), f"{path}: a payment twice in one file"
        transactions.update(amounts)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", ns)
    assert header is not None, path
    assert int(header.findtext("p:NbOfTxs", namespaces=ns)) == len(transactions), path
    assert _ore(header.findtext("p:CtrlSum", namespaces=ns)) == sum(transactions.values()), path
    return Pain001(str(header.findtext("p:MsgId", namespaces=ns)), transactions)


def read_bookings(path: Path) -> tuple[str, dict[str, int]]:
    """A camt.054's message id and its booked entries (end-to-end id -> amount in øre)."""
    from payments.iso20022.camt054 import read_camt054

    with read_camt054(path) as document:
        booked: Counter[str] = Counter()
        amounts = {}
        for entry in document:
            booked[entry.end_to_end_id] += 1
            amounts[entry.end_to_end_id] = entry.amount_ore
    assert max(booked.values(), default=1) == 1, f"{path}: a payment booked twice in one answer"
    return document.message_id, amounts


def _is_camt054(path: Path) -> bool:
    with path.open("rb") as file:
        return b"camt.054" in file.read(4096)


def check_invariants(conninfo: str, bank_root: Path, expected: Expected) -> Checked:
    """Assert the invariants for the batches in ``expected`` and every bank file there is."""
    with psycopg.connect(conninfo, autocommit=True) as db:
        rows = db.execute(
            f"SELECT id, batch_id::text, reference, status, return_code, bank_file_id, "  # noqa: S608
            f"amount_ore, booked_at FROM {Payment._meta.db_table} WHERE batch_id = ANY(%s::uuid[])",
            [list(expected)],
        ).fetchall()
        files = db.execute(
            f"SELECT id, message_id, status, transaction_count, control_sum_ore, path "  # noqa: S608
            f"FROM {BankFile._meta.db_table} ORDER BY id"
        ).fetchall()
        open_batches = db.execute(
            f"SELECT id::text, status FROM {Batch._meta.db_table} "  # noqa: S608
            "WHERE id = ANY(%s::uuid[]) AND status <> 'closed'",
            [list(expected)],
        ).fetchall()
        in_any_file = {
            row[0]
            for row in db.execute(
                f"SELECT id FROM {Payment._meta.db_table} WHERE bank_file_id IS NOT NULL"  # noqa: S608
            )
        }

    # No payment lost, none made up, each in the final state its row calls for.
    found: dict[str, Counter[str]] = {batch: Counter() for batch in expected}
    payments = {}
    for pid, batch, reference, status, code, file_id, amount, booked in rows:
        found[batch][reference] += 1
        assert status in FINAL, f"payment {reference} of {batch} ends as {status}"
        assert (status, code) == expected[batch][reference], (reference, status, code)
        assert (file_id is not None) == (status in SENT), (reference, status, file_id)
        assert (booked is not None) == (status == "bank_received"), (reference, status, booked)
        payments[f"NK{pid}"] = (amount, file_id, status)
    for batch, references in expected.items():
        assert found[batch] == Counter(references.keys()), (
            f"batch {batch}: payments lost or doubled"
        )
    assert not open_batches, f"batches not closed: {open_batches}"

    # Every claimed file was written; its header and blocks add up; each payment in one file.
    in_files: Counter[str] = Counter()
    for file_id, message_id, status, count, control_sum, path in files:
        assert status == "answered", f"bank file {message_id} is {status}"
        document = read_pain001(Path(path))
        assert document.message_id == message_id
        assert (len(document.transactions), sum(document.transactions.values())) == (
            count,
            control_sum,
        ), f"{message_id}: the file's totals differ from the database's"
        for end_to_end, amount in document.transactions.items():
            assert end_to_end in payments or int(end_to_end[2:]) in in_any_file, end_to_end
            if end_to_end in payments:
                assert payments[end_to_end][:2] == (amount, file_id), end_to_end
        in_files.update(document.transactions.keys())
    assert max(in_files.values(), default=1) == 1, "a payment is in two bank files"
    sent = {e2e for e2e, (_, _, status) in payments.items() if status in SENT}
    assert sent <= in_files.keys(), "a payment marked sent is in no bank file"

    # The bank's side: each file taken once (a second delivery of the same message id is
    # refused by the bank), and each payment booked at most once, for its amount.
    taken: Counter[str] = Counter()
    refused = 0
    bookings: dict[str, dict[str, int]] = {}
    for bank in sorted(p for p in bank_root.iterdir() if p.is_dir()):
        for path in sorted((bank / "delivered").glob("*.xml")):
            taken.update(read_pain001(path).transactions.keys())
        for path in sorted((bank / "duplicates").glob("*")):
            duplicate = read_pain001(path)
            original = read_pain001(bank / "delivered" / f"{duplicate.message_id}.xml")
            assert duplicate.transactions == original.transactions, path
            refused += 1
        for folder in ("inbox", "processed", "uploaded"):
            for path in sorted((bank / folder).glob("*.xml")):
                if _is_camt054(path):
                    message_id, booked = read_bookings(path)
                    assert bookings.setdefault(message_id, booked) == booked, path
        assert not list((bank / "files").glob(".*.part")), f"{bank}: half-written files left"
    assert max(taken.values(), default=1) == 1, "the bank took a payment in two files"
    assert taken.keys() == in_files.keys(), "the bank did not take exactly our files"
    booked_total: Counter[str] = Counter()
    for booked in bookings.values():
        booked_total.update(booked.keys())
    assert max(booked_total.values(), default=1) == 1, "the bank booked a payment twice"
    for end_to_end, (amount, _, status) in payments.items():
        booked_amount = next((b[end_to_end] for b in bookings.values() if end_to_end in b), None)
        if status == "bank_received":
            assert booked_amount == amount, f"{end_to_end}: booked {booked_amount}, paid {amount}"
        else:
            assert booked_amount is None, f"{end_to_end} ({status}) was booked"
    return Checked(
        payments=len(rows),
        files=len(files),
        bookings=sum(booked_total.values()),
        refused_duplicates=refused,
    )
