"""Issue 5: import of a synthetic register extract of 1,000,000 persons and 200,000 business rows.

Measures and prints (never asserts a time): generating the files, a first import into an empty
register, and a re-import of the same extract with 1% of the rows changed, each in rows/s, and
the peak RSS of this process, which must stay under 256 MiB (ARCHITECTURE.md section 4).

DATABASE_URL=... pytest tests/benchmarks/test_register_import_bench.py --run-benchmarks -s
"""

import csv
import time
from pathlib import Path

import pytest

from registry.models import Recipient
from registry.register_import import ImportResult, register_import
from registry.synthetic_register import generate_register
from tests.benchmarks.peak_memory import peak_mib as peak_rss_mib

PERSONS = 1_000_000
BUSINESSES = 200_000
CHANGE_EVERY = 100  # 1% of the rows change between the two extracts
MAX_RSS_MIB = 256


def change_one_percent(source: Path, target: Path, address_column: int) -> int:
    """Copy an extract, giving every CHANGE_EVERY-th row a new address; returns how many."""
    changed = 0
    with (
        source.open(encoding="utf-8", newline="") as reading,
        target.open("w", encoding="utf-8", newline="") as writing,
    ):
        writer = csv.writer(writing, lineterminator="\n")
        for number, row in enumerate(csv.reader(reading)):
            if number and number % CHANGE_EVERY == 0:
                row[address_column] = f"Flyttevej {number % 97 + 1}"
                changed += 1
            writer.writerow(row)
    return changed


def timed_import(label: str, persons: Path, businesses: Path) -> ImportResult:
    started = time.perf_counter()
    result = register_import(persons=persons, businesses=businesses)
    seconds = time.perf_counter() - started
    rows = PERSONS + BUSINESSES
    print(
        f"{label}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
        f"peak RSS {peak_rss_mib():.0f} MiB; {result.as_dict()}"
    )
    return result


@pytest.mark.benchmark
@pytest.mark.django_db(transaction=True)  # real commits, as the command does them
def test_register_import_of_1_2_million_rows(tmp_path: Path) -> None:
    print(f"\nbaseline peak RSS {peak_rss_mib():.0f} MiB")
    started = time.perf_counter()
    files = generate_register(
        out_dir=tmp_path / "v1", persons=PERSONS, businesses=BUSINESSES, seed=2026
    )
    seconds = time.perf_counter() - started
    print(
        f"generate: {PERSONS + BUSINESSES:,} rows in {seconds:.1f} s = "
        f"{(PERSONS + BUSINESSES) / seconds:,.0f} rows/s; peak RSS {peak_rss_mib():.0f} MiB"
    )
    assert files.persons is not None
    assert files.businesses is not None

    first = timed_import("first import", files.persons, files.businesses)
    assert first.persons is not None
    assert first.businesses is not None
    assert (first.persons.new, first.businesses.new) == (PERSONS, BUSINESSES)
    assert Recipient.objects.count() == PERSONS + BUSINESSES

    (tmp_path / "v2").mkdir()
    persons_v2, businesses_v2 = tmp_path / "v2" / "persons.csv", tmp_path / "v2" / "businesses.csv"
    changed_persons = change_one_percent(files.persons, persons_v2, address_column=2)
    changed_businesses = change_one_percent(files.businesses, businesses_v2, address_column=4)

    second = timed_import("re-import, 1% changed", persons_v2, businesses_v2)
    assert second.persons is not None
    assert second.businesses is not None
    assert second.persons.changed == changed_persons
    assert second.persons.unchanged == PERSONS - changed_persons
    assert second.businesses.changed == changed_businesses
    assert second.persons.rejected == second.businesses.rejected == 0

    assert peak_rss_mib() < MAX_RSS_MIB
