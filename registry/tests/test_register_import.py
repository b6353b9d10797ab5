"""import_register: register extracts into the register mirror (issue 5, API.md)."""

import datetime
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from registry import register_import as register_import_module
from registry.identifiers import (
    IdentifierError,
    parse_cpr,
    parse_cvr,
    parse_p_number,
    parse_se_number,
)
from registry.models import Recipient
from registry.register_import import RegisterFileError, register_import

PERSONS_HEADER = "cpr,name,address,postcode,city,status"
BUSINESSES_HEADER = "kind,number,cvr,name,address,postcode,city,status"
CVR_A = "13585628"  # valid check digits
CVR_B = "25313763"
CVR_BAD = "13585627"  # wrong check digit
OLD = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)

PERSONS = [
    "0102901234,Anne Jensen,Vestergade 1,8000,Aarhus C,active",
    "1503451235,Peter Hansen,Østergade 2,5000,Odense C,dead",
    "2912241236,Sofie Nielsen,,,,emigrated",
]
BUSINESSES = [
    f"CVR,{CVR_A},{CVR_A},Jensen Bageri ApS,Algade 3,4000,Roskilde,active",
    f"P,1000000001,{CVR_A},Jensen Bageri ApS,Algade 3,4000,Roskilde,active",
    f"SE,30000001,{CVR_A},Jensen Bageri ApS,Algade 3,4000,Roskilde,active",
    f"CVR,{CVR_B},,Hansen VVS A/S,Torvet 9,7100,Vejle,active",
]


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write an extract: write("persons", [rows]) -> path; the header is added unless given."""
    counter = iter(range(1000))

    def write_file(kind: str, rows: list[str], header: str | None = None) -> Path:
        if header is None:
            header = PERSONS_HEADER if kind == "persons" else BUSINESSES_HEADER
        path = tmp_path / f"{kind}-{next(counter)}.csv"
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return path

    return write_file


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("import_register", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Recipient.objects.order_by("id_type", "id_number").values_list(
            "id_type", "id_number", "cvr", "name", "address", "postcode", "city", "status",
            "updated_at",
        )
    )  # fmt: skip


def status_of(id_type: str, number: str) -> str:
    return Recipient.objects.get(id_type=id_type, id_number=number).status


@pytest.mark.django_db
def test_first_import_creates_every_row(write: Callable[..., Path]) -> None:
    result = run("--persons", str(write("persons", PERSONS)))
    assert result["persons"] == {
        "new": 3, "changed": 0, "unchanged": 0, "ceased": 0, "rejected": 0,
    }  # fmt: skip
    assert result["businesses"] is None
    assert result["errors"] == []

    result = run("--businesses", str(write("businesses", BUSINESSES)))
    assert result["businesses"]["new"] == 4
    anne = Recipient.objects.get(id_type="CPR", id_number="0102901234")
    assert (anne.name, anne.address, anne.postcode, anne.city, anne.status, anne.cvr) == (
        "Anne Jensen", "Vestergade 1", "8000", "Aarhus C", "active", "",
    )  # fmt: skip
    assert status_of("CPR", "2912241236") == "emigrated"
    p_unit = Recipient.objects.get(id_type="P", id_number="1000000001")
    assert p_unit.cvr == CVR_A
    # an empty cvr column on a CVR row means the number itself
    assert Recipient.objects.get(id_type="CVR", id_number=CVR_B).cvr == CVR_B
    assert Recipient.objects.get(id_type="SE", id_number="30000001").cvr == CVR_A


@pytest.mark.django_db
def test_same_extract_again_changes_nothing(write: Callable[..., Path]) -> None:
    persons, businesses = write("persons", PERSONS), write("businesses", BUSINESSES)
    run("--persons", str(persons), "--businesses", str(businesses))
    Recipient.objects.update(updated_at=OLD)
    before = snapshot()

    result = run("--persons", str(persons), "--businesses", str(businesses))

    assert result["persons"] == {
        "new": 0, "changed": 0, "unchanged": 3, "ceased": 0, "rejected": 0,
    }  # fmt: skip
    assert result["businesses"]["unchanged"] == 4
    assert snapshot() == before  # updated_at untouched: no row was rewritten


@pytest.mark.django_db
def test_new_changed_and_unchanged_rows_are_counted(write: Callable[..., Path]) -> None:
    run("--persons", str(write("persons", PERSONS)))
    run("--businesses", str(write("businesses", BUSINESSES)))
    Recipient.objects.update(updated_at=OLD)

    persons = [
        PERSONS[0].replace("Vestergade 1", "Nørregade 5"),  # moved
        PERSONS[1],
        PERSONS[2].replace("emigrated", "active"),  # came back
        "0707071237,Ny Borger,Kirkevej 1,4000,Roskilde,active",
    ]
    businesses = [
        BUSINESSES[0].replace(",active", ",ceased"),
        *BUSINESSES[1:],
        f"P,1000000002,{CVR_B},Hansen VVS A/S,Torvet 9,7100,Vejle,active",
    ]
    result = run(
        "--persons", str(write("persons", persons)),
        "--businesses", str(write("businesses", businesses)),
    )  # fmt: skip

    assert result["persons"] == {
        "new": 1, "changed": 2, "unchanged": 1, "ceased": 0, "rejected": 0,
    }  # fmt: skip
    assert result["businesses"] == {
        "new": 1, "changed": 1, "unchanged": 3, "ceased": 0, "rejected": 0,
    }  # fmt: skip
    moved = Recipient.objects.get(id_type="CPR", id_number="0102901234")
    assert moved.address == "Nørregade 5"
    assert moved.updated_at > OLD
    assert Recipient.objects.get(id_type="CPR", id_number="1503451235").updated_at == OLD
    assert status_of("CVR", CVR_A) == "ceased"


@pytest.mark.django_db
def test_without_full_nothing_missing_is_touched(write: Callable[..., Path]) -> None:
    run("--persons", str(write("persons", PERSONS)))
    run("--businesses", str(write("businesses", BUSINESSES)))
    before = snapshot()

    result = run(
        "--persons", str(write("persons", PERSONS[:1])),
        "--businesses", str(write("businesses", BUSINESSES[:1])),
    )  # fmt: skip

    assert result["persons"]["ceased"] == 0
    assert result["businesses"]["ceased"] == 0
    assert snapshot() == before


@pytest.mark.django_db
def test_full_ceases_what_the_extract_no_longer_has(write: Callable[..., Path]) -> None:
    run("--persons", str(write("persons", PERSONS)))
    run("--businesses", str(write("businesses", BUSINESSES)))
    total = Recipient.objects.count()

    result = run(
        "--full",
        "--persons", str(write("persons", PERSONS[:2])),  # Sofie is missing
        "--businesses", str(write("businesses", BUSINESSES[:2])),  # the SE and CVR_B are missing
    )  # fmt: skip

    assert result["persons"] == {
        "new": 0, "changed": 0, "unchanged": 2, "ceased": 1, "rejected": 0,
    }  # fmt: skip
    assert result["businesses"]["ceased"] == 2
    # Never deleted (NemKonti refer to recipients); persons too become ceased (our rule).
    assert Recipient.objects.count() == total
    assert status_of("CPR", "2912241236") == "ceased"
    assert status_of("SE", "30000001") == "ceased"
    assert status_of("CVR", CVR_B) == "ceased"
    assert status_of("CPR", "0102901234") == "active"
    assert status_of("P", "1000000001") == "active"

    # A full persons extract leaves businesses alone, and already ceased rows are not counted.
    again = run("--full", "--persons", str(write("persons", PERSONS[:2])))
    assert again["persons"]["ceased"] == 0
    assert again["businesses"] is None

    # A ceased recipient that comes back takes the extract's status.
    back = run("--persons", str(write("persons", PERSONS)))
    assert back["persons"]["changed"] == 1
    assert status_of("CPR", "2912241236") == "emigrated"


@pytest.mark.django_db
def test_full_does_not_cease_a_recipient_whose_row_was_rejected(
    write: Callable[..., Path],
) -> None:
    run("--persons", str(write("persons", PERSONS)))
    broken = [PERSONS[0], PERSONS[1], PERSONS[2].replace("emigrated", "emigreret")]

    result = run("--full", "--persons", str(write("persons", broken)))

    assert result["persons"]["rejected"] == 1
    assert result["persons"]["ceased"] == 0
    assert status_of("CPR", "2912241236") == "emigrated"


@pytest.mark.django_db
def test_an_empty_full_extract_is_refused(write: Callable[..., Path]) -> None:
    run("--persons", str(write("persons", PERSONS)))
    before = snapshot()
    with pytest.raises(CommandError, match="would cease every recipient"):
        run("--full", "--persons", str(write("persons", [])))
    assert snapshot() == before


@pytest.mark.django_db
def test_invalid_rows_are_rejected_with_line_and_field(write: Callable[..., Path]) -> None:
    persons = [
        PERSONS[0],  # line 2
        "3102901234,Feb Thirtyone,,,,active",  # line 3: no 31 February
        "0101901234,Ukendt Status,,,,alive",  # line 4
        "0202901234,For Få Felter",  # line 5
        "0303901234,,Vej 1,8000,Aarhus C,active",  # line 6: no name
        "0404901234,Forkert Postnummer,Vej 1,80000,Aarhus C,active",  # line 7
        "2902011234,Ingen Skuddag,,,,active",  # line 8: 1901 was no leap year
    ]
    businesses = [
        BUSINESSES[0],  # line 2
        f"CVR,{CVR_BAD},{CVR_BAD},Forkert Kontrolciffer ApS,,,,active",  # line 3
        f"P,1000000009,{CVR_BAD},Ugyldigt CVR,,,,active",  # line 4: owning CVR invalid
        "P,1000000008,86395711,Ukendt Ejer,,,,active",  # line 5: valid CVR, unknown
        f"SE,123456789,{CVR_A},Ni Cifre,,,,active",  # line 6
        f"XX,12345678,{CVR_A},Ukendt Art,,,,active",  # line 7
        f"CVR,{CVR_B},{CVR_A},Forkert Ejer,,,,active",  # line 8: cvr must equal number
        f"P,1000000001,{CVR_A},Status Mangler,,,,",  # line 9
    ]

    result = run(
        "--persons", str(write("persons", persons)),
        "--businesses", str(write("businesses", businesses)),
    )  # fmt: skip

    assert result["persons"]["new"] == 1
    assert result["persons"]["rejected"] == 6
    assert result["businesses"]["new"] == 1
    assert result["businesses"]["rejected"] == 7
    found = {(e["file"], e["line"], e["field"]) for e in result["errors"]}
    assert found == {
        ("persons", 3, "cpr"),
        ("persons", 4, "status"),
        ("persons", 5, "row"),
        ("persons", 6, "name"),
        ("persons", 7, "postcode"),
        ("persons", 8, "cpr"),
        ("businesses", 3, "number"),
        ("businesses", 4, "cvr"),
        ("businesses", 5, "cvr"),
        ("businesses", 6, "number"),
        ("businesses", 7, "kind"),
        ("businesses", 8, "cvr"),
        ("businesses", 9, "status"),
    }
    messages = {(e["file"], e["line"]): e["message"] for e in result["errors"]}
    assert "31.02.1990" in messages[("persons", 3)]
    assert "neither in this extract nor in the register" in messages[("businesses", 5)]
    assert Recipient.objects.count() == 2  # only the valid rows
    assert not Recipient.objects.filter(id_number__in=["3102901234", "1000000008"]).exists()


@pytest.mark.django_db
def test_errors_list_stops_at_100_but_rejected_counts_all(write: Callable[..., Path]) -> None:
    rows = [f"3002{yy:02d}1234,Ingen Dag,,,,active" for yy in range(100)] * 2
    result = run("--persons", str(write("persons", rows)))
    assert result["persons"]["rejected"] == 200
    assert len(result["errors"]) == 100
    assert [e["line"] for e in result["errors"]] == list(range(2, 102))


@pytest.mark.django_db
def test_an_id_twice_in_one_file_last_line_wins(write: Callable[..., Path]) -> None:
    persons = [
        "0102901234,Første Udgave,,,,active",
        PERSONS[1],
        "0102901234,Sidste Udgave,,,,dead",
    ]
    result = run("--persons", str(write("persons", persons)))
    assert result["persons"]["new"] == 2
    assert result["persons"]["rejected"] == 1
    assert result["errors"] == [
        {
            "file": "persons",
            "line": 2,
            "field": "cpr",
            "message": "The same ID is on line 4, which is used.",
        }
    ]
    anne = Recipient.objects.get(id_type="CPR", id_number="0102901234")
    assert (anne.name, anne.status) == ("Sidste Udgave", "dead")


@pytest.mark.django_db
def test_input_forms_are_normalised_and_text_is_kept_exactly(write: Callable[..., Path]) -> None:
    path = write(
        "persons",
        [
            '010290-1234 ,"Jensen, Anne ""Mor""","Vej 1\tbag\\ved", 8000 , Aarhus C ,Active',
            '020290 1234,"To\nLinjer",,,,dead',
        ],
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte order mark, as Excel writes

    result = run("--persons", str(path))

    assert result["persons"]["new"] == 2, result["errors"]
    anne = Recipient.objects.get(id_type="CPR", id_number="0102901234")
    assert (anne.name, anne.address, anne.city, anne.status) == (
        'Jensen, Anne "Mor"', "Vej 1\tbag\\ved", "Aarhus C", "active",
    )  # fmt: skip
    assert Recipient.objects.get(id_type="CPR", id_number="0202901234").name == "To\nLinjer"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"cpr;name;address;postcode;city;status\n", "the header must be"),
        (BUSINESSES_HEADER.encode() + b"\n", "is not a persons extract"),
        (b"", "an empty file"),
        (PERSONS_HEADER.encode() + b"\n" + PERSONS[0].encode() + b"\n\xff\xfe,bad\n", "not UTF-8"),
        (PERSONS_HEADER.encode() + b'\n"0102901234"x,A,,,,active\n', "line 2"),
    ],
    ids=["semicolons", "businesses-header", "empty", "not-utf8", "broken-quote"],
)
def test_an_unreadable_extract_is_refused_and_changes_nothing(
    tmp_path: Path, write: Callable[..., Path], content: bytes, message: str
) -> None:
    run("--businesses", str(write("businesses", BUSINESSES)))
    before = snapshot()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)

    with pytest.raises(CommandError, match=message):
        run(
            "--businesses",
            str(write("businesses", BUSINESSES[:1])),
            "--full",
            "--persons",
            str(bad),
        )
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"\xff\xfe,bad\n", r"not UTF-8 \(at or after line"),
        (b'P,"1000000002"x,,,,,,active\n', "line 304"),
    ],
    ids=["not-utf8", "broken-quote"],
)
def test_a_broken_businesses_file_rolls_back_the_persons_file_too(
    write: Callable[..., Path], tail: bytes, message: str
) -> None:
    run("--persons", str(write("persons", PERSONS[:1])))
    before = snapshot()
    changed_persons = write("persons", [PERSONS[0].replace("active", "dead"), *PERSONS[1:]])
    # 300 good rows first, so the bad bytes lie beyond the first block the header check reads.
    padding = [f"P,{1000000100 + n},{CVR_A},Afdeling {n},,,,active" for n in range(300)]
    businesses = write("businesses", [*BUSINESSES[:2], *padding])
    businesses.write_bytes(businesses.read_bytes() + tail)

    with pytest.raises(CommandError, match=message) as raised:
        run("--full", "--persons", str(changed_persons), "--businesses", str(businesses))

    assert "Nothing was imported" in str(raised.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_missing_file_and_missing_arguments(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        run("--persons", str(tmp_path / "nope.csv"))
    with pytest.raises(CommandError, match="--persons FILE, --businesses FILE or both"):
        call_command("import_register")


@pytest.mark.django_db
def test_a_failure_midway_rolls_back_both_files(
    write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run("--persons", str(write("persons", PERSONS[:1])))
    before = snapshot()
    apply_extract = register_import_module._apply_extract

    def fail_after_businesses(path: Path, extract: Any, *, full: bool) -> Any:
        result = apply_extract(path, extract, full=full)
        if extract.file == "businesses":
            raise RuntimeError("the server went away")
        return result

    monkeypatch.setattr(register_import_module, "_apply_extract", fail_after_businesses)
    with pytest.raises(RuntimeError):
        register_import(
            persons=write("persons", [PERSONS[0].replace("active", "dead"), *PERSONS[1:]]),
            businesses=write("businesses", BUSINESSES),
            full=True,
        )
    assert snapshot() == before


@pytest.mark.django_db
def test_human_output(write: Callable[..., Path]) -> None:
    out = StringIO()
    path = write("persons", [*PERSONS, "3102901234,X,,,,active"])
    call_command("import_register", "--persons", str(path), stdout=out)
    text = out.getvalue()
    assert "persons: 3 new, 0 changed, 0 unchanged, 0 ceased, 1 rejected" in text
    assert "persons line 5, cpr:" in text


def test_register_import_needs_a_file() -> None:
    with pytest.raises(RegisterFileError):
        register_import()


# --- the fast paths never accept what registry.identifiers rejects -----------------------------

digit_text = st.text(alphabet="0123456789- x", min_size=6, max_size=12)


def parsed(parse: Callable[[str], Any], raw: str) -> str | None:
    try:
        return str(parse(raw).number)
    except IdentifierError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(digit_text, st.from_regex(r"[0-3][0-9][01][0-9]{3}-?[0-9]{4}", fullmatch=True)))
def test_cpr_checks_agree_with_identifiers(raw: str) -> None:
    expected = parsed(parse_cpr, raw)
    fast = register_import_module._person_fast([raw, "Navn", "", "", "", "active"])
    if fast is not None:
        assert expected is not None
        assert fast.split("\t")[1] == expected
    problems: list[tuple[str, str]] = []
    staged = register_import_module._person_row(1, [raw, "Navn", "", "", "", "active"], problems)
    assert staged[2] == expected
    assert (not problems) == (expected is not None)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["CVR", "P", "SE"]),
    number=st.one_of(digit_text, st.from_regex(r"[0-9]{8,10}", fullmatch=True)),
    owner=st.one_of(st.just(CVR_A), st.from_regex(r"[0-9]{8}", fullmatch=True)),
)
def test_business_checks_agree_with_identifiers(kind: str, number: str, owner: str) -> None:
    parse = {"CVR": parse_cvr, "P": parse_p_number, "SE": parse_se_number}[kind]
    cvr = number if kind == "CVR" else owner
    valid = parsed(parse, number) is not None and parsed(parse_cvr, cvr) is not None
    row = [kind, number, cvr, "Firma", "", "", "", "active"]
    if register_import_module._business_fast(row) is not None:
        assert valid
    problems: list[tuple[str, str]] = []
    register_import_module._business_row(1, row, problems)
    assert (not problems) == valid


@pytest.mark.django_db
def test_the_import_takes_no_table_lock_that_blocks_readers_or_writers(
    write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run("--persons", str(write("persons", PERSONS[:1])))
    apply_extract = register_import_module._apply_extract
    modes: set[str] = set()

    def apply_and_look(path: Path, extract: Any, *, full: bool) -> Any:
        result = apply_extract(path, extract, full=full)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid()"
                " AND relation = %s::regclass",
                [Recipient._meta.db_table],
            )
            modes.update(mode for (mode,) in cursor.fetchall())
        return result

    monkeypatch.setattr(register_import_module, "_apply_extract", apply_and_look)
    register_import(
        persons=write("persons", [PERSONS[0].replace("active", "dead"), *PERSONS[1:]]),
        businesses=write("businesses", BUSINESSES),
        full=True,
    )
    # Plain INSERT/UPDATE locks: readers and single-record writers of other rows go on.
    assert modes <= {"AccessShareLock", "RowExclusiveLock"}
    assert "RowExclusiveLock" in modes
