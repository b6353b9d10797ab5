"""Dry runs (issue 9): ``dry_run`` on POST /api/v1/batches answers the outcome every row would
get, with no account details, and stores and forwards nothing."""

import json
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent
from payments.models import ConnectionAgreement
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CPR_WITHOUT_ACCOUNT,
    CPR_WITHOUT_ADDRESS,
    NEMKONTO_ACCOUNT,
    SPECIFIC_ACCOUNT,
    World,
    payment,
)

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    """Rows in every table of the payments and registry apps."""
    counts = {}
    with connection.cursor() as cursor:
        for label in ("payments", "registry"):
            for model in apps.get_app_config(label).get_models():
                table = model._meta.db_table
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - model metadata
                counts[table] = cursor.fetchone()[0]
    return counts


def post(world: World, client: Client, body: Any, **kwargs: Any) -> Any:
    auth = {"Authorization": f"Bearer {world.token(client)}"}
    return client.post(
        "/api/v1/batches",
        body,
        content_type=kwargs.pop("content_type", "application/json"),
        headers=auth,
        **kwargs,
    )


def answer_of(response: Any) -> dict[str, Any]:
    """The dry run's answer (streamed)."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return dict(json.loads(b"".join(response.streaming_content)))


ROWS = [
    payment("NK", CPR_WITH_NEMKONTO),
    payment("SPEC", CPR_WITH_SPECIFIC),
    payment("GIVEN", CPR_WITHOUT_ACCOUNT, account={"reg": "5301", "number": "0000123456"}),
    payment("UNKNOWN", CPR_NOT_IN_REGISTER),
    payment("MALFORMED", "3213901234"),
    payment("NOACCOUNT", CPR_WITHOUT_ACCOUNT),
    payment("NK", CPR_WITH_NEMKONTO, amount="1.00"),
]


def by_reference(answer: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    return {(row["line"], row["reference"]): row for row in answer["payments"]}


def test_every_row_gets_its_outcome_and_nothing_is_stored(world, client):
    before = row_counts()
    audits = AuditEvent.objects.count()

    response = post(world, client, world.envelope(dry_run=True, payments=ROWS))

    answer = answer_of(response)
    assert row_counts() == before
    assert answer["dry_run"] is True
    assert answer["received"] == 7
    rows = by_reference(answer)
    value_date = answer["expected_value_date"]
    expected = {
        (0, "NK"): ("completed", 0, "nemkonto", None, value_date),
        (1, "SPEC"): ("completed", 0, "specific", None, value_date),
        (2, "GIVEN"): ("completed", 0, "given", None, value_date),
        (3, "UNKNOWN"): ("rejected", 1, "none", None, None),
        (4, "MALFORMED"): ("rejected", 2, "none", None, None),
        (5, "NOACCOUNT"): ("failed", 7, "none", "returned", None),
        (6, "NK"): ("rejected", 2, "none", None, None),
    }
    assert {
        key: (
            row["status"],
            row["return_code"],
            row["account_kind"],
            row["failure_handling"],
            row["value_date"],
        )
        for key, row in rows.items()
    } == expected
    assert "first six digits are not a date" in rows[(4, "MALFORMED")]["return_text"]
    assert "reference" in rows[(6, "NK")]["return_text"]
    assert answer["return_codes"] == {"0": 3, "1": 1, "2": 2, "7": 1}
    # No account is revealed, not even masked.
    text = json.dumps(answer)
    for number in (NEMKONTO_ACCOUNT[1], SPECIFIC_ACCOUNT[1], "0000123456"):
        assert number[-4:] not in text
    # Only the fact that it ran is audited.
    assert AuditEvent.objects.count() == audits + 1
    assert AuditEvent.objects.latest("id").action == "batch.dry_run"


@pytest.mark.parametrize(
    ("choice", "cpr", "expected"),
    [
        ("waiting", CPR_WITHOUT_ACCOUNT, ("waiting", 7, "waiting", None)),
        ("cheque", CPR_WITHOUT_ACCOUNT, ("failed", 7, "cheque", "date")),
        ("cheque", CPR_WITHOUT_ADDRESS, ("rejected", 7, None, None)),
    ],
)
def test_the_failure_choice_decides_the_outcome(world, client, choice, cpr, expected):
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(failure_choice=choice)
    answer = answer_of(
        post(world, client, world.envelope(dry_run=True, payments=[payment("X", cpr)]))
    )
    [row] = answer["payments"]
    value_date = answer["expected_value_date"] if expected[3] else None
    assert (row["status"], row["return_code"], row["failure_handling"], row["value_date"]) == (
        *expected[:3],
        value_date,
    )


def test_a_reference_used_before_is_a_formal_error(world, client):
    assert post(world, client, world.envelope(payments=[payment("USED")])).status_code == 202
    answer = answer_of(
        post(world, client, world.envelope(dry_run=True, payments=[payment("USED")]))
    )
    assert answer["payments"][0]["return_code"] == 2


def test_envelope_errors_are_refused_as_for_a_submission(world, client):
    before = row_counts()
    wrong = post(
        world, client, world.envelope(dry_run=True, bank_agreement="BA-0000", payments=ROWS)
    )
    unknown_benefit = post(
        world, client, world.envelope(dry_run=True, payments=[payment("B", benefit="NOPE")])
    )
    bad_flag = post(world, client, world.envelope(dry_run="maybe", payments=ROWS))

    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "bank_agreement"
    assert unknown_benefit.status_code == 422
    assert bad_flag.status_code == 422
    assert bad_flag.json()["errors"][0]["field"] == "dry_run"
    assert row_counts() == before


def test_a_csv_dry_run(world, client):
    body = (
        "reference,recipient_type,recipient_id,benefit,amount,text,reg,number,iban,bic\r\n"
        f"C1,CPR,{CPR_WITH_NEMKONTO},BOERNECHECK,10.00,,,,,\r\n"
        f"C2,CPR,{CPR_NOT_IN_REGISTER},BOERNECHECK,10.00,,,,,\r\n"
    )
    before = row_counts()
    query = "authority=kbh&los_unit=YDELSE&bank_agreement=BA-1001&dry_run=true"
    auth = {"Authorization": f"Bearer {world.token(client)}"}
    response = client.post(f"/api/v1/batches?{query}", body, content_type="text/csv", headers=auth)
    assert [row["return_code"] for row in answer_of(response)["payments"]] == [0, 1]
    assert row_counts() == before
