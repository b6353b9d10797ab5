"""Hostile input at the registry's endpoints: look-ups (scope resolve), the banks' NemKonto
reports (single and bulk), the phone menu, and the citizens' and caseworkers' session endpoints.

Each is a 4xx problem document naming the field where there is one, and writes nothing: no
look-up log row (a refused look-up is not a look-up), no NemKonto version, no letter, no audit
row. The bulk report's documented exception: a malformed row rejects only its row.
"""

import json
from typing import Any

import pytest

from registry import bulk_api
from registry.bank_bulk import bank_bulk_apply
from registry.models import BankBulkRow, NemKonto
from tests.hostile.conftest import Hostile, problem_fields

LOOKUP = "/api/v1/recipients/{type}/{id}/account"
RESOLVE = "/api/v1/resolve"
BULK = "/api/v1/nemkonto/bulk"
CPR = "0101901234"
GOOD_ACCOUNT = {"reg": "3000", "number": "7654321"}


def send(
    hostile: Hostile, method: str, path: str, body: Any, kind: str, content_type: str = ""
) -> Any:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return getattr(hostile.http, method)(
        path,
        raw,
        content_type=content_type or "application/json",
        headers=hostile.bearer(kind),
    )


LOOKUP_CASES = [
    ("NUL in purpose", "CPR", CPR, "purpose=a%00b", 400, "purpose"),
    ("a bell in purpose", "CPR", CPR, "purpose=a%07b", 422, "purpose"),
    ("a purpose of 201 characters", "CPR", CPR, "purpose=" + "x" * 201, 422, "purpose"),
    ("no purpose", "CPR", CPR, "", 422, "purpose"),
    ("NUL in benefit", "CPR", CPR, "purpose=sag&benefit=A%00", 400, "benefit"),
    ("a bell in benefit", "CPR", CPR, "purpose=sag&benefit=A%07", 422, "benefit"),
    ("SQL in the ID", "CPR", "0101901234'%20OR%201=1--", "purpose=sag", 422, "id"),
    ("NUL in the ID", "CPR", "0101%00901234", "purpose=sag", 400, "path"),
    ("a wildcard ID", "CPR", "%25", "purpose=sag", 422, "id"),
    ("an unknown type", "XYZ", CPR, "purpose=sag", 422, "type"),
]


@pytest.mark.parametrize(
    ("id_type", "id_number", "query", "status", "field"),
    [case[1:] for case in LOOKUP_CASES],
    ids=[case[0] for case in LOOKUP_CASES],
)
def test_a_hostile_look_up_is_refused_and_not_logged(
    hostile, stored, id_type, id_number, query, status, field
):
    before = stored()

    response = hostile.http.get(
        LOOKUP.format(type=id_type, id=id_number) + f"?{query}", headers=hostile.bearer("resolve")
    )

    assert response.status_code == status, response.content[:300]
    assert field in problem_fields(response)
    assert not before.changes()


def _recipients(count: int) -> list[dict[str, str]]:
    return [{"type": "CPR", "id": CPR}] * count


RESOLVE_CASES: list[tuple[str, Any, str, int, str | None]] = [
    ("nested arrays", "[" * 50_000 + "]" * 50_000, "", 400, None),
    ("nested objects", '{"a": ' * 5_000 + "1" + "}" * 5_000, "", 400, None),
    ("not UTF-8", b'{"recipients": [{"type": "CPR", "id": "\xff"}]}', "", 400, None),
    ("not JSON", b"recipients=0101901234", "text/plain", 415, None),
    ("XML", b"<recipients/>", "application/xml", 415, None),
    ("a form", b"recipients=1", "application/x-www-form-urlencoded", 415, None),
    ("over 2.5 MB", {"recipients": _recipients(90_000)}, "", 413, None),
    ("10,001 IDs", {"recipients": _recipients(10_001)}, "", 422, "recipients"),
    ("NUL in purpose", {"purpose": "a\x00b", "recipients": _recipients(1)}, "", 422, "purpose"),
    ("NUL in benefit", {"benefit": "A\x00", "recipients": _recipients(1)}, "", 422, "benefit"),
    ("a list as benefit", {"benefit": ["A"], "recipients": _recipients(1)}, "", 422, "benefit"),
    ("recipients as object", {"recipients": {"type": "CPR"}}, "", 422, "recipients"),
    (
        "NUL in an ID",
        {"recipients": [{"type": "CPR", "id": "0101\x00901234"}]},
        "",
        422,
        "recipients[0].id",
    ),
    (
        "SQL in an ID",
        {"recipients": [{"type": "CPR", "id": "' OR 1=1--"}]},
        "",
        422,
        "recipients[0].id",
    ),
    (
        "a number as ID",
        {"recipients": [{"type": "CPR", "id": 101901234}]},
        "",
        422,
        "recipients[0]",
    ),
    ("an unknown field", {"recipients": [], "is_staff": True}, "", 422, "is_staff"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [case[1:] for case in RESOLVE_CASES],
    ids=[case[0] for case in RESOLVE_CASES],
)
def test_a_hostile_bulk_resolve_is_refused_and_not_logged(
    hostile, stored, body, content_type, status, field
):
    before = stored()

    response = send(hostile, "post", RESOLVE, body, "resolve", content_type)

    assert response.status_code == status, response.content[:300]
    fields = problem_fields(response)
    assert (field in fields) if field else fields == []
    assert not before.changes()


BANK_REPORT_CASES = [
    ("NUL in reg", {"account": {"reg": "30\x0000", "number": "1234567"}}, 400, "account.reg"),
    (
        "a bell in the number",
        {"account": {"reg": "3000", "number": "12\x074567"}},
        422,
        "account.number",
    ),
    (
        "SQL in the number",
        {"account": {"reg": "3000", "number": "1' OR '1'='1"}},
        422,
        "account.number",
    ),
    ("NUL in IBAN", {"account": {"iban": "DK50\x00", "bic": "DABADKKK"}}, 400, "account.iban"),
    ("an account as list", {"account": ["3000", "1234567"]}, 400, "account"),
    ("an unknown field", {"account": GOOD_ACCOUNT, "state": "active"}, 400, "state"),
    (
        "a 5,000-digit number",
        {"account": {"reg": "3000", "number": "1" * 5000}},
        400,
        "account.number",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [case[1:] for case in BANK_REPORT_CASES],
    ids=[case[0] for case in BANK_REPORT_CASES],
)
def test_a_hostile_bank_report_is_refused_and_changes_no_nemkonto(
    hostile, stored, body, status, field
):
    before = stored()

    response = send(hostile, "put", f"/api/v1/nemkonto/CPR/{CPR}", body, "bank")

    assert response.status_code == status, response.content[:300]
    assert field in problem_fields(response)
    assert not before.changes()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"changes": ' + "[" * 5_000 + "]" * 5_000 + "}", 400),
        (b'{"changes": [\xff]}', 400),
        ({"changes": {"recipient": {}}}, 422),
        ({"changes": [], "priority": "high"}, 422),
    ],
    ids=["nested arrays", "not UTF-8", "changes as object", "an unknown field"],
)
def test_a_hostile_bulk_report_envelope_stores_nothing(hostile, stored, body, status):
    before = stored()

    response = send(hostile, "post", BULK, body, "bank")

    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    assert not before.changes()


def test_a_bulk_report_over_its_limit_is_413(hostile, stored, monkeypatch):
    monkeypatch.setattr(bulk_api, "MAX_BODY_BYTES", 10_000)
    before = stored()

    response = send(hostile, "post", BULK, {"changes": [{"x": "y" * 20_000}]}, "bank")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not before.changes()


def test_malformed_rows_of_a_bulk_report_reject_only_their_row(hostile):
    changes = [
        {"recipient": {"type": "CPR", "id": "0101\x00901234"}, "account": GOOD_ACCOUNT},
        {"recipient": {"type": "C\x00PR", "id": CPR}, "account": GOOD_ACCOUNT},
        {"recipient": {"type": "CPR", "id": CPR}, "account": {"reg": "30\x0000", "number": "1"}},
        {"recipient": {"type": "CPR", "id": "' OR 1=1--"}, "account": GOOD_ACCOUNT},
        {"recipient": {"type": "CPR", "id": CPR}, "account": GOOD_ACCOUNT, "\x00": "x"},
        {"recipient": {"type": "CPR", "id": CPR}, "account": GOOD_ACCOUNT},
    ]
    response = send(hostile, "post", BULK, {"changes": changes}, "bank")
    assert response.status_code == 202, response.content[:300]

    job = bank_bulk_apply(job_id=response.json()["job_id"])

    assert job is not None
    rows = list(BankBulkRow.objects.filter(job=job).order_by("index"))
    assert [row.outcome for row in rows] == ["rejected"] * 5 + ["changed"]
    first_errors = [(row.errors or [{}])[0].get("field") for row in rows[:5]]
    assert first_errors == [
        "changes[0].recipient.id",
        "changes[1].recipient.type",
        "changes[2].account.reg",
        "changes[3].recipient.id",
        "changes[4].\ufffd",
    ]
    current = NemKonto.objects.get(recipient__id_number=CPR, state="active")
    assert (current.reg, current.number) == ("3000", "0007654321")


SESSION_CASES = [
    (
        "caseworker",
        "post",
        "/api/v1/caseworker/nemkonto",
        {"recipient": {"type": "CPR", "id": CPR}, "account": {"reg": "3000", "number": "1\x002"}},
        400,
        "account.number",
    ),
    (
        "caseworker",
        "post",
        "/api/v1/caseworker/nemkonto",
        {"recipient": {"type": "CPR", "id": "0101901234; DROP"}, "account": GOOD_ACCOUNT},
        400,
        "recipient.id",
    ),
    (
        "caseworker",
        "post",
        "/api/v1/caseworker/specific-accounts",
        {
            "recipient": {"type": "CPR", "id": CPR},
            "benefit": "BOERNECHECK\x07",
            "account": GOOD_ACCOUNT,
            "end_date": "9999-99-99",
        },
        400,
        "end_date",
    ),
    ("citizen", "put", "/api/v1/me/nemkonto", {"account": {"iban": "\x00"}}, 400, "account.iban"),
    (
        "citizen",
        "put",
        "/api/v1/me/nemkonto",
        {"account": GOOD_ACCOUNT, "held": False},
        400,
        "held",
    ),
    ("citizen", "post", "/api/v1/me/activation", {"code": "1\x002"}, 400, "code"),
    ("citizen", "post", "/api/v1/me/activation", {"code": "9" * 21}, 400, "code"),
    (
        "operator",
        "post",
        "/api/v1/letters/mark",
        {"ids": ["1; DROP"], "status": "sent"},
        400,
        "ids[0]",
    ),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "field"),
    SESSION_CASES,
    ids=[f"{case[0]} {case[1]} {case[2]} {case[5]}" for case in SESSION_CASES],
)
def test_hostile_session_input_is_refused_and_stores_nothing(
    hostile, stored, who, method, path, body, status, field
):
    client = hostile.as_user(who)
    before = stored()

    response = getattr(client, method)(path, json.dumps(body), content_type="application/json")

    assert response.status_code == status, response.content[:300]
    assert field in problem_fields(response)
    assert not before.changes()


def test_the_phone_menu_refuses_a_wrong_key_and_hostile_codes(hostile, stored):
    body = json.dumps({"recipient": {"type": "CPR", "id": CPR}, "code": "1\x002"})
    before = stored()

    without = hostile.http.post("/api/v1/activation", body, content_type="application/json")
    wrong = hostile.http.post(
        "/api/v1/activation",
        body,
        content_type="application/json",
        headers={"X-Telephony-Key": "telephony-test-key\x00"},
    )
    hostile_code = hostile.http.post(
        "/api/v1/activation",
        body,
        content_type="application/json",
        headers={"X-Telephony-Key": "telephony-test-key"},
    )

    assert (without.status_code, wrong.status_code) == (403, 403)
    assert hostile_code.status_code == 400
    assert problem_fields(hostile_code) == ["code"]
    assert not before.changes()
