"""generate_register: a synthetic register extract (issue 5) that the import takes as it is."""

import csv
import hashlib
import json
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from registry.identifiers import (
    cpr_birth_date,
    parse_cpr,
    parse_cvr,
    parse_p_number,
    parse_se_number,
)
from registry.models import Recipient
from registry.synthetic_register import (
    BUSINESSES_HEADER,
    PERSONS_HEADER,
    POSTCODES,
    generate_register,
)

PERSONS = 3_000
BUSINESSES = 2_000
REAL_POSTCODES = dict(POSTCODES)
MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    files = generate_register(
        out_dir=tmp_path_factory.mktemp("register"), persons=PERSONS, businesses=BUSINESSES, seed=7
    )
    assert files.persons is not None
    assert files.businesses is not None
    return files.persons, files.businesses


def test_every_person_is_valid_and_synthetic(register: tuple[Path, Path]) -> None:
    header, *rows = read(register[0])
    assert tuple(header) == PERSONS_HEADER
    assert len(rows) == PERSONS
    numbers = [row[0] for row in rows]
    assert len(set(numbers)) == PERSONS
    for cpr, name, address, postcode, city, status in rows:
        born = cpr_birth_date(parse_cpr(cpr))  # a real date, with the right century digit
        assert 1920 <= born.year <= 2025
        # Our rule: never a number that could be issued to a real person.
        assert (born.month, born.day) != (1, 1)
        assert sum(int(d) * w for d, w in zip(cpr, MOD11_WEIGHTS, strict=True)) % 11 != 0
        assert len(name.split()) >= 2
        if status in ("emigrated", "unknown_address"):
            assert (address, postcode, city) == ("", "", "")
        else:
            assert REAL_POSTCODES[postcode] == city
            assert address.split(",")[0].split()[-1].isdigit()
    statuses = Counter(row[5] for row in rows)
    assert set(statuses) == {"active", "dead", "emigrated", "unknown_address"}
    assert statuses["active"] / PERSONS > 0.85  # mostly active


def test_every_business_unit_is_valid_and_belongs_to_a_cvr(register: tuple[Path, Path]) -> None:
    header, *rows = read(register[1])
    assert tuple(header) == BUSINESSES_HEADER
    assert len(rows) == BUSINESSES
    parse = {"CVR": parse_cvr, "P": parse_p_number, "SE": parse_se_number}
    seen_cvrs: set[str] = set()
    for kind, number, cvr, name, _address, postcode, city, status in rows:
        assert parse[kind](number).number == number
        assert parse_cvr(cvr).number == cvr
        if kind == "CVR":
            assert cvr == number
            seen_cvrs.add(number)
            assert 50_000_000 <= int(number) < 90_000_000  # not yet issued (our rule)
        else:
            assert cvr in seen_cvrs  # the owning CVR comes first
        assert name
        assert REAL_POSTCODES[postcode] == city
        assert status in ("active", "ceased")
    kinds = Counter(row[0] for row in rows)
    assert set(kinds) == {"CVR", "P", "SE"}
    assert kinds["P"] > kinds["SE"]
    assert len({(row[0], row[1]) for row in rows}) == BUSINESSES  # every ID once


def test_the_same_seed_gives_the_same_files(register: tuple[Path, Path], tmp_path: Path) -> None:
    again = generate_register(
        out_dir=tmp_path / "a", persons=PERSONS, businesses=BUSINESSES, seed=7
    )
    other = generate_register(
        out_dir=tmp_path / "b", persons=PERSONS, businesses=BUSINESSES, seed=8
    )
    assert again.persons is not None
    assert again.businesses is not None
    assert other.persons is not None
    assert other.businesses is not None
    assert digest(again.persons) == digest(register[0])
    assert digest(again.businesses) == digest(register[1])
    assert digest(other.persons) != digest(register[0])
    assert digest(other.businesses) != digest(register[1])


def test_numbers_stay_unique_across_a_larger_file(tmp_path: Path) -> None:
    files = generate_register(out_dir=tmp_path, persons=60_000, businesses=0, seed=1)
    assert files.businesses is None
    assert files.persons is not None
    numbers = [row[0] for row in read(files.persons)[1:]]
    assert len(set(numbers)) == len(numbers) == 60_000


@pytest.mark.django_db
def test_generate_and_load_imports_every_row(tmp_path: Path) -> None:
    out = StringIO()
    call_command(
        "generate_register",
        "--persons", "500", "--businesses", "300", "--out", str(tmp_path), "--seed", "3",
        "--load", "--json",
        stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    assert result["persons"] == {"file": str(tmp_path / "persons.csv"), "rows": 500}
    assert result["import"]["persons"] == {
        "new": 500, "changed": 0, "unchanged": 0, "ceased": 0, "rejected": 0,
    }  # fmt: skip
    assert result["import"]["businesses"]["new"] == 300
    assert result["import"]["businesses"]["rejected"] == 0
    assert result["import"]["errors"] == []
    assert Recipient.objects.count() == 800

    # The same files again, as import_register: nothing changes.
    again = StringIO()
    call_command(
        "import_register",
        "--persons", str(tmp_path / "persons.csv"),
        "--businesses", str(tmp_path / "businesses.csv"),
        "--full", "--json",
        stdout=again,
    )  # fmt: skip
    summary = json.loads(again.getvalue())
    assert summary["persons"]["unchanged"] == 500
    assert summary["businesses"]["unchanged"] == 300
    assert summary["persons"]["ceased"] == summary["businesses"]["ceased"] == 0


def test_generate_register_needs_rows_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--persons N, --businesses M or both"):
        call_command("generate_register", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="cannot be negative"):
        call_command("generate_register", "--persons", "-1", "--out", str(tmp_path))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("generate_register", "--persons", "1", "--out", str(a_file))
