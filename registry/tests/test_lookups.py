"""The look-up log (DOMAIN.md section 11): every look-up of a person by CPR number, through any
channel, leaves exactly one row (who, when, channel, purpose, result), and the table never holds
the CPR number itself. The citizen can list who looked them up or changed their accounts."""

import pytest
from django.db import connection
from django.urls import reverse

from registry.models import LookupLog
from registry.services import cpr_hash, nemkonto_set, specific_account_create
from registry.tests.conftest import CITIZEN_CPR, DANISH, OTHER_CPR

pytestmark = pytest.mark.django_db
ACCOUNT_URL = "/api/v1/recipients/{type}/{id}/account"


def table_text() -> str:
    """Every column of every row of the look-up log, as text."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {LookupLog._meta.db_table} t")  # noqa: S608
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_no_cpr_stored(*numbers: str) -> None:
    text = table_text()
    assert text  # there is something to search
    for number in numbers:
        assert number not in text
        assert f"{number[:6]}-{number[6:]}" not in text


def test_api_lookup_writes_one_row(api, resolve_client, person):
    response = api.get(
        ACCOUNT_URL.format(type="CPR", id="010190-1234"),
        {"purpose": "sagsbehandling 42"},
        headers=resolve_client.headers,
    )
    assert response.status_code == 200, response.content
    row = LookupLog.objects.get()
    assert row.channel == LookupLog.Channel.API
    assert row.api_client == resolve_client.api_client
    assert row.authority == resolve_client.api_client.authority
    assert row.purpose == "sagsbehandling 42"
    assert row.result == LookupLog.Result.FOUND
    assert row.id_hash == cpr_hash(CITIZEN_CPR)
    assert len(row.id_hash) == 64
    assert_no_cpr_stored(CITIZEN_CPR)


def test_lookup_of_an_id_not_in_the_register_is_logged_and_answers_404(api, resolve_client, db):
    response = api.get(
        ACCOUNT_URL.format(type="CPR", id=OTHER_CPR),
        {"purpose": "tjek"},
        headers=resolve_client.headers,
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["code"] == "not_in_register"
    assert LookupLog.objects.get().result == LookupLog.Result.NOT_FOUND
    assert_no_cpr_stored(OTHER_CPR)


def test_malformed_lookup_logs_nothing(api, resolve_client, person):
    bad = api.get(
        ACCOUNT_URL.format(type="CPR", id="3199901234"), {"purpose": "x"}, **_h(resolve_client)
    )
    no_purpose = api.get(ACCOUNT_URL.format(type="CPR", id=CITIZEN_CPR), **_h(resolve_client))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "id"
    assert no_purpose.status_code == 422
    assert no_purpose.json()["errors"][0]["field"] == "purpose"
    assert LookupLog.objects.count() == 0


def _h(client):
    return {"headers": client.headers}


def test_cvr_lookups_are_not_personal_data_lookups(api, resolve_client, company):
    response = api.get(
        ACCOUNT_URL.format(type="CVR", id=company.id_number), {"purpose": "x"}, **_h(resolve_client)
    )
    assert response.status_code == 200
    assert LookupLog.objects.count() == 0


def test_bulk_resolve_writes_one_row_per_cpr(api, resolve_client, person, company):
    body = {
        "recipients": [
            {"type": "CPR", "id": "010190-1234"},
            {"type": "CPR", "id": OTHER_CPR},
            {"type": "CVR", "id": company.id_number},
            {"type": "CPR", "id": CITIZEN_CPR},  # the same person again: one look-up
        ]
    }
    response = api.post(reverse("registry-resolve"), body, format="json", **_h(resolve_client))
    assert response.status_code == 200, response.content
    rows = LookupLog.objects.order_by("id")
    assert [(r.id_hash, r.result) for r in rows] == [
        (cpr_hash(CITIZEN_CPR), "no"),
        (cpr_hash(OTHER_CPR), "unknown_id"),
    ]
    assert {r.purpose for r in rows} == {"bulk resolve"}
    assert_no_cpr_stored(CITIZEN_CPR, OTHER_CPR)


def test_caseworker_lookup_of_specific_accounts_is_logged(
    api, login, sa_caseworker, person, benefit
):
    specific_account_create(
        actor=sa_caseworker, id_type="CPR", id_number=CITIZEN_CPR, benefit_code="KP", account=DANISH
    )
    login(sa_caseworker)
    listed = api.get(
        reverse("registry-caseworker-specific-accounts"),
        {"type": "CPR", "id": CITIZEN_CPR, "purpose": "borgerhenvendelse"},
    )
    one = api.get(reverse("registry-caseworker-specific-account", args=["CPR", CITIZEN_CPR, "KP"]))
    assert listed.status_code == one.status_code == 200
    rows = list(LookupLog.objects.order_by("id"))
    assert len(rows) == 2
    assert [r.purpose for r in rows] == ["borgerhenvendelse", "caseworker: specific accounts"]
    assert {(r.actor, r.channel, r.authority) for r in rows} == {
        (sa_caseworker, "api", sa_caseworker.authority)
    }
    assert_no_cpr_stored(CITIZEN_CPR)


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:registry_recipient_changelist",
        "admin:registry_nemkonto_changelist",
        "admin:registry_specificaccount_changelist",
        "admin:registry_lookuplog_changelist",
    ],
)
def test_admin_search_by_cpr_writes_one_row(client, operator, person, changelist):
    client.force_login(operator)
    response = client.get(reverse(changelist), {"q": "010190-1234"})
    assert response.status_code == 200
    row = LookupLog.objects.get()
    assert (row.channel, row.actor, row.result) == ("admin", operator, "found")
    assert row.purpose.startswith("admin: search")
    assert_no_cpr_stored(CITIZEN_CPR)


def test_admin_search_by_name_is_not_a_cpr_lookup(client, operator, person):
    client.force_login(operator)
    response = client.get(reverse("admin:registry_recipient_changelist"), {"q": "Testesen"})
    assert response.status_code == 200
    assert CITIZEN_CPR not in response.content.decode()  # lists show the birth date only
    assert LookupLog.objects.count() == 0


def test_admin_person_page_writes_one_row(client, operator, person):
    client.force_login(operator)
    response = client.get(reverse("admin:registry_recipient_change", args=[person.pk]))
    assert response.status_code == 200
    assert CITIZEN_CPR in response.content.decode()
    row = LookupLog.objects.get()
    assert (row.channel, row.purpose) == ("admin", "admin: view person")


def test_lookup_log_is_append_only(api, resolve_client, person):
    from django.db import ProgrammingError, transaction

    api.get(ACCOUNT_URL.format(type="CPR", id=CITIZEN_CPR), {"purpose": "x"}, **_h(resolve_client))
    with pytest.raises(ProgrammingError), transaction.atomic():
        LookupLog.objects.update(purpose="changed")
    with pytest.raises(ProgrammingError), transaction.atomic():
        LookupLog.objects.all().delete()
    assert LookupLog.objects.get().purpose == "x"


def test_citizen_sees_who_looked_them_up_and_changed_their_account(
    api, login, resolve_client, citizen_in_register, other_person, another_citizen, bank_client
):
    api.get(
        ACCOUNT_URL.format(type="CPR", id=CITIZEN_CPR), {"purpose": "ydelse"}, **_h(resolve_client)
    )
    api.get(
        ACCOUNT_URL.format(type="CPR", id=OTHER_CPR), {"purpose": "andet"}, **_h(resolve_client)
    )
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    api.put(
        reverse("registry-bank-nemkonto", args=["CPR", CITIZEN_CPR]),
        {"account": {"reg": "3000", "number": "99"}},
        format="json",
        **_h(resolve_client),  # refused: not a bank (and nothing logged)
    )
    api.put(
        reverse("registry-bank-nemkonto", args=["CPR", CITIZEN_CPR]),
        {"account": {"reg": "3000", "number": "99"}},
        format="json",
        **_h(bank_client),
    )
    login(citizen_in_register)
    mine = api.get(reverse("registry-me-lookups")).json()
    assert [(row["purpose"], row["channel"], row["result"]) for row in mine["lookups"]] == [
        ("ydelse", "api", "found")
    ]
    assert mine["lookups"][0]["authority"] == "Testkøbing Kommune"
    assert [(c["object"], c["event"], c["channel"], c["by"]) for c in mine["changes"]] == [
        ("nemkonto", "changed", "bank", "bank 3000"),
        ("nemkonto", "changed", "citizen", "borger"),
    ]
    login(another_citizen)
    theirs = api.get(reverse("registry-me-lookups")).json()
    assert [row["purpose"] for row in theirs["lookups"]] == ["andet"]
    assert theirs["changes"] == []
