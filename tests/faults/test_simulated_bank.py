"""The simulated bank refuses a message id it took before, as banks do: delivery of a bank file
is at least once (a file is sent again when the sender crashed, or the acknowledgement was
lost, before it recorded the delivery), so one booking per payment rests on this refusal."""

import datetime
from pathlib import Path

import pytest

from payments.iso20022.pain001_writer import (
    Pain001Header,
    Pain001Transaction,
    Party,
    danish_iban,
    write_pain001,
)
from payments.management.commands.simulate_bank import answer_waiting_files
from tests.faults.invariants import read_bookings, read_pain001

pytestmark = pytest.mark.faults


def deliver(outbox: Path, message_id: str, created_at: datetime.datetime) -> None:
    transactions = [
        Pain001Transaction(f"NK{n}", 10_000 * n, "TRF", "Nina Nemkonto", "Ydelse", "3000", f"{n}")
        for n in (1, 2)
    ]
    header = Pain001Header(
        message_id=message_id,
        created_at=created_at,
        initiating_party=Party(name="Testkøbing Kommune", cvr="29189846"),
        debtor_account_iban=danish_iban("3000", "4444444"),
        debtor_agent_bic="DABADKKK",
        bank_agreement_number="BA-1001",
        value_date=datetime.date(2026, 11, 27),
        number_of_transactions=2,
        control_sum_ore=30_000,
    )
    outbox.mkdir(parents=True, exist_ok=True)
    with (outbox / f"{message_id}.xml").open("wb") as out:
        write_pain001(out, header, transactions)


def test_a_file_delivered_again_is_refused_and_booked_once(tmp_path):
    outbox = tmp_path / "3000" / "outbox"
    first = datetime.datetime(2026, 11, 26, 6, 0, tzinfo=datetime.UTC)
    deliver(outbox, "NK20261126050000-1", first)
    answered = answer_waiting_files(tmp_path, reject_rate=0.0, seed="t")
    # Written again after a crash: same message id, same payments, a later creation time.
    deliver(outbox, "NK20261126050000-1", first + datetime.timedelta(minutes=2))
    again = answer_waiting_files(tmp_path, reject_rate=0.0, seed="t")

    assert [entry["accepted"] for entry in answered] == [2]
    assert again == [{"bank": "3000", "file": "NK20261126050000-1.xml", "duplicate": True}]
    (refused,) = (tmp_path / "3000" / "duplicates").iterdir()
    assert read_pain001(refused) == read_pain001(tmp_path / "3000/delivered/NK20261126050000-1.xml")
    (bookings,) = (tmp_path / "3000" / "inbox").glob("*.camt054.xml")
    assert read_bookings(bookings)[1] == {"NK1": 10_000, "NK2": 20_000}
    assert not list(outbox.iterdir())
