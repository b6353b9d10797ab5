"""The registry's REST endpoints: shapes (API.md), problem documents with field paths, and bad
input answered 4xx with nothing changed (issue 5, acceptance 6)."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from payments.models import ConnectionAgreement
from registry.models import ActivationLetter, LookupLog, NemKonto, Notice, SpecificAccount
from registry.services import nemkonto_set, specific_account_create
from registry.tests.conftest import (
    CITIZEN_CPR,
    CODE,
    DANISH,
    DANISH_2,
    PDF_STUB,
    TELEPHONY_KEY,
)

pytestmark = pytest.mark.django_db


def nothing_changed() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (NemKonto, SpecificAccount, ActivationLetter, LookupLog, Notice, AuditEvent)
    }


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


# --- Look-ups -------------------------------------------------------------------------------------


def test_lookup_answers_the_masked_account_and_why(
    api, resolve_client, citizen_in_register, benefit
):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    url = reverse("registry-recipient-account", args=["CPR", "010190-1234"])
    body = api.get(url, {"purpose": "p", "benefit": "KP"}, headers=resolve_client.headers).json()
    assert body == {
        "recipient": {"type": "CPR", "id": CITIZEN_CPR},
        "exists": True,
        "account_kind": "nemkonto",
        "account": "****4567",
        "reason": body["reason"],
        "reason_code": "nemkonto",
        "version": NemKonto.objects.get().pk,
    }


def test_lookup_with_an_unknown_benefit_is_refused(api, resolve_client, person):
    url = reverse("registry-recipient-account", args=["CPR", CITIZEN_CPR])
    body = problem(
        api.get(url, {"purpose": "p", "benefit": "NOPE"}, headers=resolve_client.headers), 422
    )
    assert body["errors"][0]["field"] == "benefit"
    assert LookupLog.objects.count() == 0


def test_lookup_by_payment_system_needs_an_active_agreement(api, payment_client, person):
    url = reverse("registry-recipient-account", args=["CPR", CITIZEN_CPR])
    in_test = payment_client(ConnectionAgreement.Status.IN_TEST)
    assert api.get(url, {"purpose": "p"}, headers=in_test.headers).status_code == 403
    active = payment_client(ConnectionAgreement.Status.ACTIVE)
    assert api.get(url, {"purpose": "p"}, headers=active.headers).status_code == 200
    assert LookupLog.objects.count() == 1


def test_bulk_resolve_answers_in_order(
    api, resolve_client, citizen_in_register, other_person, company, benefit, sa_caseworker
):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    specific_account_create(
        actor=sa_caseworker,
        id_type="CPR",
        id_number=other_person.id_number,
        benefit_code="KP",
        account=DANISH_2,
    )
    recipients = [
        {"type": "CPR", "id": "010190-1234"},
        {"type": "CPR", "id": other_person.id_number},
        {"type": "CVR", "id": company.id_number},
        {"type": "CPR", "id": "0101991234"},
    ]
    url = reverse("registry-resolve")
    without = api.post(
        url, {"recipients": recipients}, format="json", headers=resolve_client.headers
    )
    with_benefit = api.post(
        url,
        {"benefit": "KP", "recipients": recipients},
        format="json",
        headers=resolve_client.headers,
    )
    assert [r["result"] for r in without.json()["results"]] == ["yes", "no", "no", "unknown_id"]
    assert [r["result"] for r in with_benefit.json()["results"]] == [
        "yes",
        "yes",
        "no",
        "unknown_id",
    ]
    assert without.json()["results"][0] == {"type": "CPR", "id": "010190-1234", "result": "yes"}
    detailed = api.post(
        url,
        {"benefit": "KP", "details": True, "recipients": recipients},
        format="json",
        headers=resolve_client.headers,
    ).json()["results"]
    # Details only where the payment would use the caller's own specific account.
    assert detailed[1] == {
        "type": "CPR",
        "id": other_person.id_number,
        "result": "yes",
        "account_kind": "specific",
        "account": "****4321",
    }
    assert detailed[0] == {"type": "CPR", "id": "010190-1234", "result": "yes"}


def test_bulk_resolve_refuses_bad_ids_with_their_paths(api, resolve_client, person):
    before = nothing_changed()
    body = {
        "recipients": [
            {"type": "CPR", "id": CITIZEN_CPR},
            {"type": "CPR", "id": "3199901234"},
            {"type": "XX", "id": "1"},
            "nonsense",
        ]
    }
    answer = problem(
        api.post(reverse("registry-resolve"), body, format="json", headers=resolve_client.headers),
        422,
    )
    assert [e["field"] for e in answer["errors"]] == [
        "recipients[1].id",
        "recipients[2].type",
        "recipients[3]",
    ]
    assert nothing_changed() == before


def test_bulk_resolve_limit(api, resolve_client, person):
    body = {"recipients": [{"type": "CPR", "id": CITIZEN_CPR}] * 10_001}
    answer = problem(
        api.post(reverse("registry-resolve"), body, format="json", headers=resolve_client.headers),
        422,
    )
    assert answer["errors"][0]["code"] == "too_many"
    assert LookupLog.objects.count() == 0


def test_bulk_resolve_uses_a_fixed_number_of_queries(
    api, resolve_client, person, django_assert_max_num_queries
):
    from registry.tests.conftest import make_recipient

    for n in range(30):
        make_recipient("CPR", f"0101{70 + n % 20:02d}{5000 + n:04d}", f"Person {n}")
    few = {"recipients": [{"type": "CPR", "id": CITIZEN_CPR}]}
    many = {
        "recipients": [
            {"type": "CPR", "id": f"0101{70 + n % 20:02d}{5000 + n:04d}"} for n in range(30)
        ]
    }
    url = reverse("registry-resolve")
    with django_assert_max_num_queries(8) as few_queries:
        api.post(url, few, format="json", headers=resolve_client.headers)
    with django_assert_max_num_queries(8) as many_queries:
        api.post(url, many, format="json", headers=resolve_client.headers)
    assert len(many_queries.captured_queries) == len(few_queries.captured_queries)
    assert LookupLog.objects.count() == 31


# --- Banks ----------------------------------------------------------------------------------------


def test_bank_put_answers_recipient_version_and_active_from(api, bank_client, person):
    url = reverse("registry-bank-nemkonto", args=["CPR", "010190-1234"])
    response = api.put(url, {"account": DANISH}, format="json", headers=bank_client.headers)
    assert response.status_code == 200, response.content
    body = response.json()
    version = NemKonto.objects.get()
    assert body["recipient"] == {"type": "CPR", "id": CITIZEN_CPR}
    assert body["version"] == version.pk
    assert body["state"] == "active"
    assert body["active_from"] is not None
    again = api.put(url, {"account": DANISH}, format="json", headers=bank_client.headers)
    assert again.json()["version"] == version.pk
    assert NemKonto.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "account", "status", "field", "code"),
    [
        (["CPR", "3199901234"], DANISH, 422, "id", "cpr_invalid_date"),
        (["CPR", "0101991234"], DANISH, 404, "id", "not_in_register"),
        (["XY", CITIZEN_CPR], DANISH, 422, "type", "id_type_unknown"),
        (["CPR", CITIZEN_CPR], {"reg": "9999", "number": "1"}, 422, "account.reg", "reg_unknown"),
        (
            ["CPR", CITIZEN_CPR],
            {"iban": "DK5100400440116243", "bic": "DABADKKK"},
            422,
            "account.iban",
            "iban_checksum",
        ),
        (
            ["CPR", CITIZEN_CPR],
            {"reg": "5301", "number": "1"},
            422,
            "account",
            "account_not_at_bank",
        ),
    ],
)
def test_bad_bank_reports_are_refused_and_change_nothing(
    api, bank_client, person, path, account, status, field, code
):
    before = nothing_changed()
    url = reverse("registry-bank-nemkonto", args=path)
    body = problem(
        api.put(url, {"account": account}, format="json", headers=bank_client.headers), status
    )
    assert (body["errors"][0]["field"], body["errors"][0]["code"]) == (field, code)
    assert nothing_changed() == before


def test_bank_report_with_a_danish_iban(api, bank_client, person):
    url = reverse("registry-bank-nemkonto", args=["CPR", CITIZEN_CPR])
    response = api.put(
        url,
        {"account": {"iban": "DK50 0040 0440 1162 43"}},
        format="json",
        headers=bank_client.headers,
    )
    # DK50 0040... is Spar Nord (reg 0040), not the client's bank.
    assert problem(response, 422)["errors"][0]["code"] == "account_not_at_bank"


def test_unknown_fields_are_refused(api, bank_client, person):
    url = reverse("registry-bank-nemkonto", args=["CPR", CITIZEN_CPR])
    response = api.put(
        url, {"account": DANISH, "locked": True}, format="json", headers=bank_client.headers
    )
    assert problem(response, 400)["errors"][0]["field"] == "locked"


# --- Citizens and businesses ----------------------------------------------------------------------


def test_citizen_manages_their_nemkonto(api, login, citizen_in_register):
    login(citizen_in_register)
    url = reverse("registry-me-nemkonto")
    assert api.get(url).json()["nemkonto"] is None
    changed = api.put(url, {"account": DANISH}, format="json")
    assert changed.status_code == 200
    assert changed.json()["nemkonto"]["account"] == {"reg": "3000", "number": "0001234567"}
    assert api.delete(url).status_code == 204
    assert api.get(url).json()["nemkonto"] is None
    assert problem(api.delete(url), 409)["errors"] == []


def test_business_sees_but_cannot_change(api, login, business, bank_client):
    api.put(
        reverse("registry-bank-nemkonto", args=["CVR", business.recipient_id]),
        {"account": DANISH},
        format="json",
        headers=bank_client.headers,
    )
    login(business)
    url = reverse("registry-me-nemkonto")
    assert api.get(url).json()["nemkonto"]["masked"] == "****4567"
    before = nothing_changed()
    body = problem(api.put(url, {"account": DANISH_2}, format="json"), 403)
    assert "bank" in body["detail"]
    problem(api.delete(url), 403)
    assert nothing_changed() == before


def test_citizen_changes_an_unlocked_specific_account_but_not_a_locked_one(
    api, login, sa_caseworker, citizen_in_register, benefit, other_benefit
):
    for code, locked in (("KP", False), ("BO", True)):
        if code == "BO":
            benefit.authority.benefits.create(code="BO", name="Boligstøtte")
        specific_account_create(
            actor=sa_caseworker,
            id_type="CPR",
            id_number=CITIZEN_CPR,
            benefit_code=code,
            account=DANISH,
            locked=locked,
        )
    login(citizen_in_register)
    listed = api.get(reverse("registry-me-specific-accounts")).json()
    assert [(a["benefit"], a["locked"]) for a in listed] == [("BO", True), ("KP", False)]
    ok = api.patch(
        reverse("registry-me-specific-account", args=["kbh", "KP"]),
        {"account": DANISH_2},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["masked"] == "****4321"
    before = nothing_changed()
    locked = api.patch(
        reverse("registry-me-specific-account", args=["kbh", "BO"]),
        {"account": DANISH_2},
        format="json",
    )
    assert problem(locked, 403)["detail"].startswith("The specific account is locked")
    problem(api.delete(reverse("registry-me-specific-account", args=["kbh", "BO"])), 403)
    assert nothing_changed() == before
    assert (
        api.delete(reverse("registry-me-specific-account", args=["kbh", "KP"])).status_code == 204
    )


# --- Activation -----------------------------------------------------------------------------------


def test_caseworker_change_then_phone_activation(api, login, nk_caseworker, person):
    login(nk_caseworker)
    response = api.post(
        reverse("registry-caseworker-nemkonto"),
        {"recipient": {"type": "CPR", "id": "010190-1234"}, "account": DANISH},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "pending"
    assert body["account"] == "****4567"
    assert body["current"] is None
    assert set(body["letter"]) == {"id", "expires_at"}
    assert CODE not in response.content.decode()

    api.logout()
    phone = reverse("registry-activation")
    call = {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "code": CODE}
    problem(api.post(phone, call, format="json"), 403)
    problem(api.post(phone, call, format="json", headers={"X-Telephony-Key": "wrong"}), 403)
    key = {"X-Telephony-Key": TELEPHONY_KEY}
    wrong = problem(api.post(phone, {**call, "code": "11111111"}, format="json", headers=key), 422)
    assert wrong["errors"][0] == {
        "field": "code",
        "code": "wrong_code",
        "message": "The activation code is wrong. You have 4 attempts left.",
    }
    assert ActivationLetter.objects.get().attempts == 1  # counted, though the answer is an error
    ok = api.post(phone, call, format="json", headers=key)
    assert ok.status_code == 200
    assert ok.json()["state"] == "active"
    assert (
        problem(api.post(phone, call, format="json", headers=key), 404)["errors"][0]["code"]
        == "no_pending_change"
    )


def test_telephony_endpoint_is_closed_without_a_key(api, settings, person):
    settings.NEMKONTO_TELEPHONY_KEY = ""
    call = {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "code": CODE}
    problem(
        api.post(
            reverse("registry-activation"), call, format="json", headers={"X-Telephony-Key": ""}
        ),
        403,
    )


def test_portal_activation(api, login, nk_caseworker, citizen_in_register):
    login(nk_caseworker)
    api.post(
        reverse("registry-caseworker-nemkonto"),
        {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "account": DANISH},
        format="json",
    )
    login(citizen_in_register)
    waiting = api.get(reverse("registry-me-nemkonto")).json()["waiting"]
    assert waiting["state"] == "pending"
    assert waiting["authority"] == "Testkøbing Kommune"
    response = api.post(reverse("registry-me-activation"), {"code": CODE}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "active"


# --- Control list ---------------------------------------------------------------------------------


def test_control_list_lists_the_authoritys_changes(
    api, login, controller, nk_caseworker, sa_caseworker, person, benefit, citizen_in_register
):
    login(nk_caseworker)
    api.post(
        reverse("registry-caseworker-nemkonto"),
        {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "account": DANISH},
        format="json",
    )
    created = specific_account_create(
        actor=sa_caseworker,
        id_type="CPR",
        id_number=CITIZEN_CPR,
        benefit_code="KP",
        account=DANISH_2,
    )
    login(citizen_in_register)
    api.post(reverse("registry-me-activation"), {"code": CODE}, format="json")
    api.delete(reverse("registry-me-specific-account", args=["kbh", "KP"]))
    nemkonto_set(actor=citizen_in_register, account=DANISH_2)  # not the authority's change

    login(controller)
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    response = api.get(reverse("registry-control-list", args=["kbh"]), {"from": today, "to": today})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["object"], r["event"], r["channel"], r["by"]) for r in rows] == [
        ("nemkonto", "requested", "caseworker", "nemkonto-sb"),
        ("specific_account", "created", "caseworker", "speckonto-sb"),
        ("nemkonto", "activated", "activation", "recipient"),
        ("specific_account", "deleted", "citizen", "borger"),
    ]
    assert rows[1]["recipient_id"] == CITIZEN_CPR
    assert rows[1]["benefit"] == "KP"
    assert rows[1]["account"] == "****4321"
    assert rows[1]["version"] == str(created.pk)

    bad = api.get(
        reverse("registry-control-list", args=["kbh"]), {"from": "2026-13-01", "to": today}
    )
    assert problem(bad, 422)["errors"][0]["field"] == "from"


# --- Letters --------------------------------------------------------------------------------------


def test_operators_list_print_and_download_letters(api, login, nk_caseworker, person, operator):
    login(nk_caseworker)
    api.post(
        reverse("registry-caseworker-nemkonto"),
        {"recipient": {"type": "CPR", "id": CITIZEN_CPR}, "account": DANISH},
        format="json",
    )
    login(operator)
    listed = api.get(reverse("registry-letters"), {"status": "unprinted"}).json()
    assert len(listed["results"]) == 1
    letter = listed["results"][0]
    assert letter["addressee"].startswith("Borger Testesen")
    pdf = api.get(letter["pdf"])
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content) == PDF_STUB
    marked = api.post(
        reverse("registry-letters-mark"),
        {"ids": [letter["id"]], "status": "printed"},
        format="json",
    )
    assert marked.json() == {"changed": 1}
    assert api.get(reverse("registry-letters"), {"status": "unprinted"}).json()["results"] == []
    api.post(
        reverse("registry-letters-mark"), {"ids": [letter["id"]], "status": "sent"}, format="json"
    )
    assert ActivationLetter.objects.get().status == "sent"


def test_schema_lists_the_registry_endpoints(api, operator):
    api.force_login(operator)
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/recipients/{id_type}/{id_number}/account",
        "/api/v1/resolve",
        "/api/v1/nemkonto/{id_type}/{id_number}",
        "/api/v1/activation",
        "/api/v1/me/lookups",
        "/api/v1/caseworker/specific-accounts",
        "/api/v1/authorities/{code}/control-list.csv",
        "/api/v1/letters",
    ):
        assert path in text
