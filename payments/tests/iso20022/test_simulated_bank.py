"""The simulated bank's file core: deterministic answers, forced rejections, atomic output."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from payments.iso20022.camt054 import read_camt054
from payments.iso20022.errors import InvalidXml
from payments.iso20022.pain001_writer import Pain001Transaction
from payments.iso20022.pain002 import read_pain002
from payments.iso20022.schemas import camt054_schema, pain002_schema, validate_file
from payments.iso20022.simulated_bank import REJECT_REASONS, BankAnswer, answer_pain001, decide
from payments.tests.iso20022.builders import (
    DEBTOR_IBAN,
    NOW,
    VALUE_DATE,
    danish_transfers,
    mixed_transactions,
    pain001_bytes,
)


def _pain001(
    tmp_path: Path, transactions: list[Pain001Transaction], message_id: str = "NK-20261201-0001"
) -> Path:
    path = tmp_path / "in" / f"{message_id.replace('/', '_')}.xml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(pain001_bytes(transactions, message_id=message_id))
    return path


def _answer(path: Path, out: Path, rate: float = 0.0, seed: int | str = 1) -> BankAnswer:
    return answer_pain001(path, out, reject_rate=rate, seed=seed, now=NOW)


def test_answers_are_valid_and_consistent(tmp_path: Path) -> None:
    transactions = mixed_transactions()
    answer = _answer(_pain001(tmp_path, transactions), tmp_path / "out")
    assert answer.pain002_path == tmp_path / "out" / "NK-20261201-0001.pain002.xml"
    assert answer.camt054_path == tmp_path / "out" / "NK-20261201-0001.camt054.xml"
    validate_file(answer.pain002_path, pain002_schema())
    validate_file(answer.camt054_path, camt054_schema())
    # mixed_transactions() holds one cheque with the REJECT:AC04 marker.
    assert (answer.accepted, answer.rejected) == (5, 1)
    assert answer.original_message_id == "NK-20261201-0001"

    report = read_pain002(answer.pain002_path)
    assert report.original_message_id == "NK-20261201-0001"
    assert report.group_status == "PART"
    statuses = {s.end_to_end_id: s for s in report}
    assert set(statuses) == {tx.end_to_end_id for tx in transactions}
    assert statuses["E2E-CHK-2"].status == "RJCT"
    assert statuses["E2E-CHK-2"].reason == "AC04"
    assert statuses["E2E-CHK-2"].payment_information_id == "NK-20261201-0001-CHK2"
    assert statuses["E2E-DK-1"].payment_information_id == "NK-20261201-0001-TRF1"

    notification = read_camt054(answer.camt054_path)
    assert notification.account_iban == DEBTOR_IBAN
    booked = list(notification)
    accepted = [tx for tx in transactions if tx.end_to_end_id != "E2E-CHK-2"]
    assert [(e.end_to_end_id, e.amount_ore) for e in booked] == [
        (tx.end_to_end_id, tx.amount_ore) for tx in accepted
    ]
    assert {(e.credit_debit, e.booking_date) for e in booked} == {("DBIT", VALUE_DATE)}
    assert answer.accepted_sum_ore == sum(tx.amount_ore for tx in accepted)


def test_reject_marker_always_rejects(tmp_path: Path) -> None:
    transactions = danish_transfers(3) + danish_transfers(2, start=3, text="REJECT please")
    answer = _answer(_pain001(tmp_path, transactions), tmp_path / "out", rate=0.0)
    statuses = list(read_pain002(answer.pain002_path))
    assert [(s.status, s.reason) for s in statuses] == [("ACCP", None)] * 3 + [("RJCT", "AC01")] * 2
    assert [e.end_to_end_id for e in read_camt054(answer.camt054_path)] == [
        tx.end_to_end_id for tx in transactions[:3]
    ]


def test_decide() -> None:
    assert decide(1, "E", "REJECT", 0.0) == "AC01"
    assert decide(1, "E", "betaling REJECT:AM05 tak", 0.0) == "AM05"
    assert decide(1, "E", "anything", 0.0) is None
    assert decide(1, "E", "anything", 1.0) in REJECT_REASONS
    assert decide("seed", "E-1", "", 0.5) == decide("seed", "E-1", "", 0.5)


def test_rejections_are_deterministic_and_near_the_rate(tmp_path: Path) -> None:
    path = _pain001(tmp_path, danish_transfers(4000))
    first = _answer(path, tmp_path / "a", rate=0.1, seed="day-1")
    again = _answer(path, tmp_path / "b", rate=0.1, seed="day-1")
    other_seed = _answer(path, tmp_path / "c", rate=0.1, seed="day-2")
    assert first.pain002_path.read_bytes() == again.pain002_path.read_bytes()
    assert first.camt054_path.read_bytes() == again.camt054_path.read_bytes()
    assert 300 < first.rejected < 500
    rejected = {s.end_to_end_id for s in read_pain002(first.pain002_path) if s.status == "RJCT"}
    rejected_other = {
        s.end_to_end_id for s in read_pain002(other_seed.pain002_path) if s.status == "RJCT"
    }
    assert rejected != rejected_other
    reasons = Counter(s.reason for s in read_pain002(first.pain002_path) if s.status == "RJCT")
    assert set(reasons) == set(REJECT_REASONS)


@pytest.mark.parametrize(("rate", "group"), [(0.0, "ACCP"), (1.0, "RJCT")])
def test_all_accepted_or_all_rejected(tmp_path: Path, rate: float, group: str) -> None:
    answer = _answer(_pain001(tmp_path, danish_transfers(50)), tmp_path / "out", rate=rate)
    assert read_pain002(answer.pain002_path).group_status == group
    validate_file(answer.camt054_path, camt054_schema())  # an empty notification is valid too
    assert sum(1 for _ in read_camt054(answer.camt054_path)) == answer.accepted


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _answer(_pain001(tmp_path, danish_transfers(10)), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "NK-20261201-0001.camt054.xml",
        "NK-20261201-0001.pain002.xml",
    ]


def test_invalid_input_writes_nothing(tmp_path: Path) -> None:
    path = _pain001(tmp_path, danish_transfers(10))
    path.write_bytes(path.read_bytes().replace(b'Ccy="DKK">', b'Ccy="DKK">-', 1))
    out = tmp_path / "out"
    with pytest.raises(InvalidXml, match="InstdAmt"):
        _answer(path, out)
    assert list(out.iterdir()) == []


def test_message_ids_make_safe_file_names(tmp_path: Path) -> None:
    answer = _answer(
        _pain001(tmp_path, danish_transfers(1), message_id="../x/y:z"), tmp_path / "out"
    )
    assert answer.pain002_path.name == "_x_y_z.pain002.xml"
    assert answer.pain002_path.parent == tmp_path / "out"


def test_bad_reject_rate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reject_rate"):
        _answer(_pain001(tmp_path, danish_transfers(1)), tmp_path / "out", rate=1.5)


def test_benchmark_bank_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the simulated bank's rate (read pain.001, write both answers); no time assertion."""
    path = _pain001(tmp_path, danish_transfers(20_000))
    started = time.perf_counter()
    answer = _answer(path, tmp_path / "out", rate=0.01)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nsimulated bank: {(answer.accepted + answer.rejected) / elapsed:,.0f} transactions/s"
        )
