"""Hostile input in the portal's forms: each is shown back as an error on its field (or, for a
NUL in the address, a 400), and nothing is stored."""

from typing import Any

import pytest
from django.test import Client

from tests.hostile.conftest import Hostile


def field_errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 200, response.content[:300]
    return dict(response.context["form"].errors)


CITIZEN_FORMS = [
    ("/min-nemkonto/skift/", {"kind": "danish", "reg": "30\x0000", "number": "1234567"}, "reg"),
    ("/min-nemkonto/skift/", {"kind": "danish", "reg": "3000", "number": "12\x0745"}, "number"),
    ("/min-nemkonto/skift/", {"kind": "danish", "reg": "3000", "number": "1" * 5000}, "number"),
    (
        "/min-nemkonto/skift/",
        {"kind": "iban", "iban": "DE89' OR 1=1--", "bic": "COBADEFFXXX"},
        "iban",
    ),
    ("/min-nemkonto/skift/", {"kind": "bitcoin", "iban": "x"}, "kind"),
    ("/aktiver/", {"code": "1234\x005678"}, "code"),
    ("/aktiver/", {"code": "=HYPERLINK(1)"}, "code"),
]


@pytest.mark.parametrize(
    ("path", "data", "field"),
    CITIZEN_FORMS,
    ids=[
        f"{path} {field} {sorted(data.values())[-1][:12]!r}" for path, data, field in CITIZEN_FORMS
    ],
)
def test_hostile_citizen_form_input_is_a_field_error(hostile, stored, path, data, field):
    client = hostile.as_user("citizen")
    before = stored()

    response = client.post(path, {"step": "confirm", **data})

    assert field in field_errors(response)
    assert not before.changes()


CASEWORKER_LOOKUPS = [
    ({"id_type": "CPR", "id_number": "0101901234", "purpose": "sag\x07123"}, "purpose"),
    ({"id_type": "CPR", "id_number": "0101901234", "purpose": "sag\x00123"}, "purpose"),
    ({"id_type": "CPR", "id_number": "0101901234' OR 1=1--", "purpose": "sag"}, "id_number"),
    ({"id_type": "CPR; DROP TABLE", "id_number": "0101901234", "purpose": "sag"}, "id_type"),
]


@pytest.mark.parametrize(("data", "field"), CASEWORKER_LOOKUPS)
def test_a_hostile_caseworker_look_up_is_a_field_error_and_not_logged(hostile, stored, data, field):
    client = hostile.as_user("caseworker")
    before = stored()

    response = client.post("/sagsbehandler/opslag/", data)

    assert field in field_errors(response)
    assert not before.changes()


def test_a_hostile_new_employee_is_a_field_error(hostile: Hostile, stored: Any) -> None:
    client = hostile.as_user("local_admin")
    before = stored()

    response = client.post(
        "/administration/brugere/ny/",
        {
            "username": "eve",
            "first_name": "Eve\x00",
            "last_name": "x" * 151,
            "email": "eve@example.dk\r\nBcc: all@example.dk",
            "role_profile": "1 OR 1=1",
            "unit": "\x00",
        },
    )
    formula = client.post(
        "/administration/brugere/ny/",
        {"username": "=cmd|' /C calc'!A0", "first_name": "Eve", "last_name": "Evil"},
    )

    errors = field_errors(response)
    assert {"first_name", "last_name", "email", "role_profile", "unit"} <= set(errors)
    assert "username" in field_errors(formula)
    assert not before.changes()


@pytest.mark.parametrize(
    "path",
    [
        "/betalinger/?reference=%00",
        "/min-nemkonto/specifikke-konti/kbh%00/BOERNECHECK/skift/",
        "/administration/ydelser/BOERNE%00CHECK/",
    ],
)
def test_a_nul_in_a_portal_address_is_400(hostile: Hostile, path: str) -> None:
    who = {"b": "caseworker", "m": "citizen", "a": "local_admin"}[path[1]]
    client: Client = hostile.as_user(who)

    response = client.get(path)

    assert response.status_code == 400
    assert b"NUL" in response.content
