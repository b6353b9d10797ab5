"""Caseworkers trace the authority's payments (DOMAIN.md section 8): pending ones through
NKS-Søg-Bet, the others through NKS-Søg-Gennemf-Bet, on their units and the units below; by
recipient (a CPR search is a logged look-up of a person), reference, batch, amount, dates, status
and return code; with each payment's full history."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.models import Payment
from payments.payment_selectors import payment_search
from payments.tests.payment_factories import (
    caseworker_with,
    make_batch,
    make_payment,
    make_payments,
    nemkonto_of,
)
from payments.tests.pipeline_world import (
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    CVR_WITH_NEMKONTO,
    NEMKONTO_ACCOUNT,
)
from registry.models import LookupLog
from registry.services.lookups import cpr_hash

pytestmark = pytest.mark.django_db

SEARCH = "payments-caseworker-search"
BOTH = ("nks-soeg-bet", "nks-soeg-gennemf-bet")


@pytest.fixture
def batch(world):
    return make_batch(world)


def _references(response):
    assert response.status_code == 200, response.content
    return sorted(item["reference"] for item in response.json()["results"])


def _detail_url(payment):
    return reverse("payments-caseworker-payment", args=[payment.pk])


# --- Who sees what ---------------------------------------------------------------------------


@pytest.fixture
def persona(world, citizen, outsider):
    def make(name):
        if name == "anonymous":
            return None
        if name == "citizen":
            return citizen
        if name == "outsider":
            return outsider  # every payment profile, on a unit of another authority
        if name == "no_profile":
            return caseworker_with(world.authority, world.root, "nks-opdater-nemkonto")
        unit = {"on_parent": world.root, "on_unit": world.unit, "on_sibling": world.sibling}[name]
        return caseworker_with(world.authority, unit, *BOTH)

    return make


@pytest.mark.parametrize(
    ("who", "listed", "detail"),
    [
        ("anonymous", 403, 403),
        ("citizen", 403, 403),
        ("no_profile", 403, 404),
        ("outsider", [], 404),
        ("on_sibling", [], 404),
        ("on_unit", ["P-1", "P-2"], 200),
        ("on_parent", ["P-1", "P-2"], 200),
    ],
)
def test_search_permission_matrix(api, outsider, batch, persona, who, listed, detail):
    from accounts.tests.factories import grant

    grant(outsider, "nks-soeg-gennemf-bet", outsider.grants.first().unit)
    pending = make_payment(batch, "completed", reference="P-1")
    make_payment(batch, "forwarded", reference="P-2")
    user = persona(who)
    if user is not None:
        api.force_login(user)
    logged = LookupLog.objects.count()

    response = api.get(reverse(SEARCH))
    if isinstance(listed, list):
        assert _references(response) == listed
    else:
        assert response.status_code == listed
        assert response["Content-Type"] == "application/problem+json"
    assert api.get(_detail_url(pending)).status_code == detail
    assert LookupLog.objects.count() == logged


def test_pending_and_completed_payments_need_their_own_profiles(api, world, batch):
    make_payment(batch, "received", reference="RECEIVED")
    make_payment(batch, "completed", reference="COMPLETED")
    make_payment(batch, "waiting", reference="WAITING")
    make_payment(batch, "forwarded", reference="FORWARDED")
    make_payment(batch, "rejected", reference="REJECTED")
    make_payment(batch, "stopped", reference="STOPPED")
    make_payment(batch, "bank_error", reference="BANK_ERROR")
    pending = ["COMPLETED", "RECEIVED", "WAITING"]
    completed = ["BANK_ERROR", "FORWARDED", "REJECTED", "STOPPED"]

    for profiles, expected in (
        (("nks-soeg-bet",), pending),
        (("nks-stop-bet",), pending),
        (("nks-soeg-gennemf-bet",), completed),
        (BOTH, sorted(pending + completed)),
    ):
        api.force_login(caseworker_with(world.authority, world.root, *profiles))
        assert _references(api.get(reverse(SEARCH))) == expected, profiles
        assert _references(api.get(reverse(SEARCH), {"pending": "true"})) == sorted(
            set(expected) & set(pending)
        )
        assert _references(api.get(reverse(SEARCH), {"pending": "false"})) == sorted(
            set(expected) & set(completed)
        )


def test_a_pending_only_caseworker_cannot_open_a_completed_payment(api, world, batch):
    forwarded = make_payment(batch, "forwarded")
    api.force_login(caseworker_with(world.authority, world.unit, "nks-soeg-bet"))
    assert api.get(_detail_url(forwarded)).status_code == 404


def test_the_scope_is_one_statement(world, batch):
    make_payments(batch, 5, "completed")
    make_payments(batch, 5, "forwarded")
    user = caseworker_with(world.authority, world.root, *BOTH)
    found = payment_search(actor=user)
    with CaptureQueriesContext(connection) as queries:
        assert len(list(found)) == 10
    assert len(queries) == 1


def test_the_list_costs_the_same_queries_for_10_or_200_payments(api, world):
    api.force_login(caseworker_with(world.authority, world.root, *BOTH))
    counts = []
    for size in (10, 200):
        batch = make_batch(world)
        make_payments(batch, size // 2, "completed")
        make_payments(batch, size // 2, "forwarded")
        with CaptureQueriesContext(connection) as queries:
            response = api.get(reverse(SEARCH), {"batch_id": str(batch.pk)})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Filters ---------------------------------------------------------------------------------


@pytest.fixture
def searcher(api, world):
    api.force_login(caseworker_with(world.authority, world.root, *BOTH, username="soeger"))
    return api


@pytest.fixture
def mixed(world, batch):
    """Payments that differ in one thing each."""
    other_batch = make_batch(world, expected_value_date=datetime.date(2026, 12, 3))
    return {
        "A": make_payment(batch, "completed", reference="A", amount_ore=50000),
        "B": make_payment(batch, "forwarded", reference="B", recipient_number=CPR_WITH_SPECIFIC),
        "C": make_payment(batch, "rejected", reference="C"),
        "D": make_payment(
            other_batch,
            "completed",
            reference="D",
            recipient_type="CVR",
            recipient_number=CVR_WITH_NEMKONTO,
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"reference": "B"}, ["B"]),
        ({"amount": "500.00"}, ["A"]),
        ({"amount": "500"}, ["A"]),
        ({"status": "rejected"}, ["C"]),
        ({"return_code": "1"}, ["C"]),
        ({"return_code": "0"}, ["A", "B", "D"]),
        ({"value_date_from": "2026-12-02"}, ["D"]),
        ({"value_date_to": "2026-12-01"}, ["A", "B", "C"]),
        (
            {"recipient": CPR_WITH_SPECIFIC, "recipient_type": "CPR", "purpose": "opkald"},
            ["B"],
        ),
        ({"recipient": "020285-1234", "purpose": "opkald"}, ["B"]),
        ({"recipient": CVR_WITH_NEMKONTO, "purpose": "opkald"}, ["D"]),
        (
            {"recipient": CPR_WITH_NEMKONTO, "recipient_type": "CPR", "purpose": "opkald"},
            ["A", "C"],
        ),
    ],
)
def test_payments_are_found_by_each_filter(searcher, mixed, query, expected):
    assert _references(searcher.get(reverse(SEARCH), query)) == expected


def test_payments_are_found_by_batch_and_received_dates(searcher, mixed, batch):
    assert _references(searcher.get(reverse(SEARCH), {"batch_id": str(batch.pk)})) == [
        "A",
        "B",
        "C",
    ]
    today = timezone.localdate(batch.received_at)
    yesterday = today - datetime.timedelta(days=1)
    within = {"received_from": today.isoformat(), "received_to": today.isoformat()}
    assert _references(searcher.get(reverse(SEARCH), within)) == ["A", "B", "C", "D"]
    before = {"received_to": yesterday.isoformat()}
    assert _references(searcher.get(reverse(SEARCH), before)) == []


def test_bad_filter_values_answer_422_naming_each(searcher):
    response = searcher.get(
        reverse(SEARCH),
        {
            "status": "paid",
            "return_code": "5",
            "amount": "1.234",
            "received_from": "yesterday",
            "batch_id": "xyz",
            "pending": "maybe",
            "value_date_from": "2026-12-05",
            "value_date_to": "2026-12-01",
        },
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"status", "return_code", "received_from", "batch_id", "pending"}
    # Values of the right type but wrong meaning are named in a second round.
    response = searcher.get(
        reverse(SEARCH),
        {"amount": "1.234", "value_date_from": "2026-12-05", "value_date_to": "2026-12-01"},
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"amount", "value_date_to"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"recipient": CPR_WITH_NEMKONTO}, "purpose"),
        ({"recipient": CPR_WITH_NEMKONTO, "purpose": "   "}, "purpose"),
        ({"recipient": "3113901234", "recipient_type": "CPR", "purpose": "x"}, "recipient"),
        ({"recipient": "12", "purpose": "x"}, "recipient"),
        ({"recipient_type": "CPR"}, "recipient"),
    ],
)
def test_a_recipient_search_needs_a_purpose_and_a_valid_number(searcher, query, field):
    response = searcher.get(reverse(SEARCH), query)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert LookupLog.objects.count() == 0


# --- The look-up log -------------------------------------------------------------------------


def test_a_search_by_cpr_is_a_logged_look_up_of_the_person(searcher, world, mixed):
    searcher.get(
        reverse(SEARCH),
        {"recipient": CPR_WITH_NEMKONTO, "recipient_type": "CPR", "purpose": "borger ringede"},
    )
    searcher.get(reverse(SEARCH), {"recipient": "020285-1234", "purpose": "opfølgning"})

    first, second = LookupLog.objects.order_by("id")
    assert first.id_hash == cpr_hash(CPR_WITH_NEMKONTO)
    assert first.channel == LookupLog.Channel.API
    assert first.actor_label == "soeger"
    assert first.authority == world.authority
    assert "borger ringede" in first.purpose
    assert first.result == LookupLog.Result.FOUND
    assert second.id_hash == cpr_hash(CPR_WITH_SPECIFIC)


def test_searches_that_name_no_person_are_not_logged(searcher, mixed):
    searcher.get(reverse(SEARCH), {"recipient": CVR_WITH_NEMKONTO, "purpose": "firma"})
    searcher.get(reverse(SEARCH), {"reference": "A"})
    assert LookupLog.objects.count() == 0


def test_without_a_search_profile_nothing_is_logged(api, world):
    api.force_login(caseworker_with(world.authority, world.root, "nks-opdater-nemkonto"))
    response = api.get(reverse(SEARCH), {"recipient": CPR_WITH_NEMKONTO, "purpose": "nysgerrig"})
    assert response.status_code == 403
    assert LookupLog.objects.count() == 0


# --- The detail and its history --------------------------------------------------------------


def test_a_completed_payment_shows_its_account_and_history(searcher, batch):
    payment = make_payment(batch, "forwarded")
    version = nemkonto_of()

    response = searcher.get(_detail_url(payment))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == payment.pk
    assert body["account"] == "****" + NEMKONTO_ACCOUNT[1][-4:]
    assert body["account_full"] == f"{NEMKONTO_ACCOUNT[0]}-{NEMKONTO_ACCOUNT[1]}"
    assert body["los_unit"] == "YDELSE"
    assert payment.bank_file is not None
    assert body["bank_file"] == payment.bank_file.message_id
    events = {event["event"]: event for event in body["history"]}
    assert list(events) == ["received", "validated", "attached", "forwarded"]
    attached = events["attached"]
    assert attached["details"]["nemkonto_version"] == version.pk
    assert attached["details"]["account"] == "****" + NEMKONTO_ACCOUNT[1][-4:]
    assert f"NemKonto version {version.pk}" in attached["text"]


def test_a_pending_payment_shows_the_account_masked_only(searcher, batch):
    payment = make_payment(batch, "completed")
    body = searcher.get(_detail_url(payment)).json()
    assert body["account_full"] is None
    assert NEMKONTO_ACCOUNT[1] not in str(body)


def test_the_history_of_a_specific_account_and_of_a_failure(searcher, world, batch):
    from registry.models import SpecificAccount

    specific = SpecificAccount.objects.get(recipient__id_number=CPR_WITH_SPECIFIC)
    attached = make_payment(
        batch,
        "completed",
        recipient_number=CPR_WITH_SPECIFIC,
        account_source="specific",
        nemkonto=None,
        specific_account=specific,
        reg=specific.reg,
        number=specific.number,
    )
    failed = make_payment(batch, "failed")

    attached_events = searcher.get(_detail_url(attached)).json()["history"]
    text = attached_events[2]["text"]
    assert f"specific account version {specific.pk}" in text
    assert "(CPR 020285-1234, kbh, BOERNECHECK)" in text
    failed_events = searcher.get(_detail_url(failed)).json()["history"]
    assert [event["event"] for event in failed_events] == ["received", "validated", "failed"]
    assert failed_events[2]["details"]["failure_handling"] == "returned"
    assert "returned to the authority" in failed_events[2]["text"]


def test_a_stopped_payment_tells_who_stopped_it(searcher, world, batch):
    from payments.services.stops import payments_stop

    stopper = caseworker_with(world.authority, world.unit, "nks-stop-bet", username="stopper")
    payment = make_payment(batch, "completed")
    payments_stop(actor=stopper, payment_ids=[payment.pk])

    history = searcher.get(_detail_url(payment)).json()["history"]
    assert history[-1]["event"] == "stopped"
    assert history[-1]["details"] == {"by": "stopper"}
    assert Payment.objects.get(pk=payment.pk).status == "stopped"
