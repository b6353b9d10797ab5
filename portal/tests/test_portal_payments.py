"""The caseworker payment pages (issue 7): search with filters and paging, a payment's full
history, stopping pending payments; each page only for those who hold its function, and a page a
user may not use answers 404.

Texts are asserted on the English pages (/en/...): the msgids, whatever the Danish catalogue holds.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditEvent
from accounts.tests.factories import grant
from payments.models import Payment, PaymentStatus
from payments.tests.payment_factories import (
    bank_file_for,
    caseworker_with,
    make_batch,
    make_payment,
    make_payments,
)
from payments.tests.pipeline_world import (
    CPR_WITH_NEMKONTO,
    CPR_WITH_SPECIFIC,
    World,
    build_world,
)
from registry.models import LookupLog

pytestmark = pytest.mark.django_db

SEARCH_BOTH = ("nks-soeg-bet", "nks-soeg-gennemf-bet")


def url(name, *args):
    """The English page's address (``/en/...``)."""
    with translation.override("en"):
        return reverse(f"portal:payments:{name}", args=args)


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def references(page):
    """The references in the result table, in the order shown."""
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(r'<a href="/en/betalinger/\d+/">([^<]+)</a>', table)


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def batch(world):
    return make_batch(world)


@pytest.fixture
def searcher(world):
    return caseworker_with(world.authority, world.root, *SEARCH_BOTH, username="soeger")


@pytest.fixture
def stopper(world):
    return caseworker_with(
        world.authority, world.root, "nks-stop-bet", "nks-soeg-gennemf-bet", username="stopper"
    )


@pytest.fixture
def as_searcher(client, searcher):
    client.force_login(searcher)
    return client


@pytest.fixture
def as_stopper(client, stopper):
    client.force_login(stopper)
    return client


# --- Who may open the pages ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_log_in(client, batch):
    payment = make_payment(batch, "completed")
    for address in (url("search"), url("detail", payment.pk), url("stop")):
        response = client.get(address)
        assert response.status_code == 302
        assert "next=" in response["Location"]


@pytest.mark.parametrize("who", ["citizen", "no_profile", "benefits_only"])
def test_users_without_a_search_profile_get_404_on_every_page(client, world, batch, who, request):
    payment = make_payment(batch, "completed")
    user = {
        "citizen": lambda: request.getfixturevalue("citizen"),
        "no_profile": lambda: caseworker_with(world.authority, world.root, "nks-opdater-nemkonto"),
        "benefits_only": lambda: caseworker_with(world.authority, world.root, "nks-ydelser"),
    }[who]()
    client.force_login(user)
    for address in (url("search"), url("search") + "?reference=X", url("detail", payment.pk)):
        assert client.get(address).status_code == 404
    assert client.get(url("stop"), {"payment": payment.pk}).status_code == 404
    response = client.post(url("stop"), {"payment": payment.pk, "reason": "x", "confirm": "on"})
    assert response.status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED


def test_a_caseworker_of_another_authority_finds_nothing_and_cannot_open_the_payment(
    client, batch, outsider
):
    payment = make_payment(batch, "completed", reference="OURS")
    client.force_login(outsider)
    page = html(client.get(url("search"), {"reference": "OURS"}))
    assert "No payments match the search." in page
    assert client.get(url("detail", payment.pk)).status_code == 404


def test_results_are_scoped_to_the_caseworkers_units(client, world):
    on_unit = make_payment(make_batch(world), "completed", reference="YDELSE-1")
    make_payment(make_batch(world, los_unit=world.sibling), "completed", reference="SKAT-1")
    client.force_login(caseworker_with(world.authority, world.unit, *SEARCH_BOTH))
    assert references(html(client.get(url("search"), {"status": ""}))) == ["YDELSE-1"]
    other = Payment.objects.get(reference="SKAT-1")
    assert client.get(url("detail", other.pk)).status_code == 404
    assert client.get(url("detail", on_unit.pk)).status_code == 200


def test_pending_payments_need_the_pending_profile(client, world, batch):
    make_payment(batch, "completed", reference="PENDING")
    make_payment(batch, "forwarded", reference="DONE")
    client.force_login(caseworker_with(world.authority, world.root, "nks-soeg-gennemf-bet"))
    assert references(html(client.get(url("search"), {"status": ""}))) == ["DONE"]


# --- Search ------------------------------------------------------------------------------------


def test_the_search_form_works_without_javascript_and_searches_only_when_sent(as_searcher):
    page = html(as_searcher.get(url("search")))
    assert '<form method="get" action="/en/betalinger/"' in page
    for name in (
        "recipient",
        "recipient_type",
        "purpose",
        "reference",
        "batch",
        "amount_from",
        "amount_to",
        "received_from",
        "received_to",
        "value_date_from",
        "value_date_to",
        "status",
        "return_code",
    ):
        assert f'name="{name}"' in page
        assert f'<label class="form-label" for="id_{name}">' in page
    assert "Payments found" not in page


def test_a_search_by_reference_shows_the_payment_with_its_amount_and_status(as_searcher, batch):
    make_payment(batch, "completed", reference="FIND-ME", amount_ore=123450)
    make_payment(batch, "completed", reference="OTHER")
    page = html(as_searcher.get(url("search"), {"reference": "FIND-ME"}))
    assert references(page) == ["FIND-ME"]
    assert "1,234.50" in page
    assert "Completed (waiting for the cut-off)" in page
    assert f"CPR {CPR_WITH_NEMKONTO[:6]}-{CPR_WITH_NEMKONTO[6:]}" in page


@pytest.fixture
def mixed(world, batch):
    later = make_batch(world, expected_value_date=datetime.date(2026, 12, 3))
    make_payment(batch, "completed", reference="A", amount_ore=50000)
    make_payment(batch, "forwarded", reference="B", recipient_number=CPR_WITH_SPECIFIC)
    make_payment(batch, "rejected", reference="C", amount_ore=900)
    make_payment(later, "bank_error", reference="D", amount_ore=250000)
    return {"batch": batch, "later": later}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"amount_from": "500", "amount_to": "500,00"}, ["A"]),
        ({"amount_from": "1.000,00"}, ["D", "B"]),
        ({"amount_to": "9"}, ["C"]),
        ({"status": "rejected"}, ["C"]),
        ({"return_code": "9"}, ["D"]),
        ({"value_date_from": "2026-12-02"}, ["D"]),
        ({"value_date_to": "01-12-2026"}, ["C", "B", "A"]),
        ({"recipient": CPR_WITH_SPECIFIC, "purpose": "Borgeren ringede"}, ["B"]),
        ({"recipient": "020285-1234", "recipient_type": "CPR", "purpose": "Opkald"}, ["B"]),
    ],
)
def test_each_filter_narrows_the_results(as_searcher, mixed, query, expected):
    assert references(html(as_searcher.get(url("search"), query))) == expected


def test_the_batch_and_received_dates_filter(as_searcher, mixed):
    page = html(as_searcher.get(url("search"), {"batch": str(mixed["later"].pk)}))
    assert references(page) == ["D"]
    today = timezone.localdate(mixed["batch"].received_at)
    day = today.isoformat()
    page = html(as_searcher.get(url("search"), {"received_from": day, "received_to": day}))
    assert references(page) == ["D", "C", "B", "A"]
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    page = html(as_searcher.get(url("search"), {"received_to": yesterday}))
    assert "No payments match the search." in page


def test_a_search_for_a_person_needs_a_purpose_and_is_logged(as_searcher, searcher, mixed):
    page = html(as_searcher.get(url("search"), {"recipient": CPR_WITH_SPECIFIC}))
    assert "Say why you search for the recipient: every search is logged." in page
    assert 'aria-invalid="true"' in page
    assert "Payments found" not in page
    assert not LookupLog.objects.exists()

    html(as_searcher.get(url("search"), {"recipient": CPR_WITH_SPECIFIC, "purpose": "Opkald"}))
    log = LookupLog.objects.get()
    assert log.actor == searcher
    assert log.channel == LookupLog.Channel.PORTAL
    assert "Opkald" in log.purpose


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"amount_from": "12,345"}, "amount_from", "at most two decimals"),
        ({"amount_to": "-5"}, "amount_to", "at most two decimals"),
        ({"amount_from": "10", "amount_to": "5"}, "amount_to", "before its start"),
        ({"received_from": "i går"}, "received_from", "Give a date as dd-mm-yyyy."),
        (
            {"value_date_from": "2026-12-05", "value_date_to": "2026-12-01"},
            "value_date_to",
            "before its start",
        ),
        ({"batch": "xyz"}, "batch", "Give the batch id"),
        ({"status": "paid"}, "status", "Select a valid choice."),
        ({"return_code": "5"}, "return_code", "Select a valid choice."),
        ({"recipient_type": "CPR"}, "recipient", "Give the number of the recipient."),
        (
            {"recipient": "12345", "purpose": "Opkald"},
            "recipient",
            "Give a CPR, CVR, P or SE number",
        ),
        (
            {"recipient": "3213213213", "recipient_type": "CPR", "purpose": "Opkald"},
            "recipient",
            "",
        ),
    ],
)
def test_bad_filters_are_named_on_their_field_and_nothing_is_searched(
    as_searcher, mixed, query, field, message
):
    page = html(as_searcher.get(url("search"), query))
    assert "There is a problem" in page
    error = re.search(
        rf'<span class="form-error-message" id="id_{field}_error">(.*?)</span>\s', page
    )
    assert error, field
    assert message in error.group(1)
    assert "Payments found" not in page
    assert not LookupLog.objects.exists()


def test_results_come_25_a_page_newest_first_with_links_both_ways(as_searcher, batch):
    made = make_payments(batch, 30, "completed")
    newest_first = [p.reference for p in sorted(made, key=lambda p: -p.pk)]
    first = html(as_searcher.get(url("search"), {"status": "completed"}))
    assert references(first) == newest_first[:25]
    older = re.search(r'<a href="\?([^"]+)" rel="next">Older payments</a>', first)
    assert older
    assert "Newer payments" not in first

    second = html(as_searcher.get(url("search") + "?" + older.group(1).replace("&amp;", "&")))
    assert references(second) == newest_first[25:]
    assert "Older payments" not in second
    newer = re.search(r'<a href="\?([^"]+)" rel="prev">Newer payments</a>', second)
    assert newer
    assert "status=completed" in newer.group(1)

    back = html(as_searcher.get(url("search") + "?" + newer.group(1).replace("&amp;", "&")))
    assert references(back) == newest_first[:25]


def test_payments_are_listed_newest_received_first(as_searcher, world):
    earlier = make_batch(world, received_at=timezone.now() - datetime.timedelta(days=2))
    make_payment(make_batch(world), "completed", reference="RECEIVED-TODAY")
    make_payment(earlier, "completed", reference="RECEIVED-BEFORE")  # the larger id
    page = html(as_searcher.get(url("search"), {"status": "completed"}))
    assert references(page) == ["RECEIVED-TODAY", "RECEIVED-BEFORE"]


def test_the_menu_shows_payments_only_to_those_who_may_search_them(client, world, searcher):
    menu_link = '<a href="/en/betalinger/" class="nav-link"'
    client.force_login(searcher)
    assert menu_link in html(client.get("/en/"))
    client.force_login(caseworker_with(world.authority, world.root, "nks-opdater-nemkonto"))
    assert menu_link not in html(client.get("/en/"))


def test_an_empty_result_says_so(as_searcher, batch):
    make_payment(batch, "completed", reference="SOMETHING")
    page = html(as_searcher.get(url("search"), {"reference": "NOTHING"}))
    assert "No payments match the search." in page
    assert "<table" not in page


# --- A payment's history -----------------------------------------------------------------------


def test_the_detail_tells_the_full_history_of_a_payment_answered_by_the_bank(as_searcher, batch):
    file = bank_file_for(batch, message_id="NK-FILE-77")
    payment = make_payment(batch, "bank_error", bank_file=file, forwarded_at=timezone.now())
    page = html(as_searcher.get(url("detail", payment.pk)))
    assert f"Payment {payment.reference}" in page
    assert f"Received in batch {batch.pk}" in page
    assert "The recipient ID exists in the CPR/CVR register." in page
    assert "Attached to NemKonto version" in page
    assert "Forwarded to the bank in file NK-FILE-77" in page
    assert "Error in the bank" in page
    assert "the account is closed" in page
    # Completed payments show the whole account; the way to act on the return code is given.
    assert "3000-0001234567" in page
    assert "Act on the bank&#x27;s reason" in page


def test_a_pending_payment_shows_the_account_masked(as_searcher, batch):
    payment = make_payment(batch, "completed")
    page = html(as_searcher.get(url("detail", payment.pk)))
    assert "****4567" in page
    assert "0001234567" not in page


def test_an_unknown_payment_is_404(as_searcher):
    assert as_searcher.get(url("detail", 999_999)).status_code == 404


# --- Stopping ---------------------------------------------------------------------------------


def test_without_the_stop_profile_there_is_no_stop_action_and_the_stop_page_is_404(
    as_searcher, batch
):
    payment = make_payment(batch, "completed", reference="KEEP")
    search = html(as_searcher.get(url("search"), {"reference": "KEEP"}))
    detail = html(as_searcher.get(url("detail", payment.pk)))
    for page in (search, detail):
        assert "/en/betalinger/stop/" not in page
        assert 'type="checkbox"' not in page
    assert as_searcher.get(url("stop"), {"payment": payment.pk}).status_code == 404
    response = as_searcher.post(
        url("stop"), {"payment": payment.pk, "reason": "Fejl", "confirm": "on"}
    )
    assert response.status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert not AuditEvent.objects.filter(action="payment.stop").exists()


def test_a_caseworker_stops_a_pending_payment_from_its_page_with_a_reason(
    client, as_stopper, stopper, batch
):
    payment = make_payment(batch, "completed", reference="STOP-ME")
    detail = html(as_stopper.get(url("detail", payment.pk)))
    assert f'href="/en/betalinger/stop/?payment={payment.pk}"' in detail

    confirm = html(as_stopper.get(url("stop"), {"payment": payment.pk}))
    assert "STOP-ME" in confirm
    assert 'name="reason"' in confirm
    assert f'<input type="hidden" name="payment" value="{payment.pk}"' in confirm

    response = as_stopper.post(
        url("stop"),
        {"payment": payment.pk, "reason": "Borgeren er flyttet til udlandet", "confirm": "on"},
        follow=True,
    )
    page = html(response)
    assert response.redirect_chain[-1][0] == url("detail", payment.pk)
    assert "Payment STOP-ME is stopped." in page
    assert "Stopped by stopper before it was forwarded." in page
    assert "Stopped before it was forwarded to the bank." in page  # the return answer
    assert "can no longer be stopped" not in page
    assert "Borgeren er flyttet til udlandet" in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.STOPPED
    assert payment.stopped_by == stopper
    event = AuditEvent.objects.get(action="payment.stop")
    assert event.data["reason"] == "Borgeren er flyttet til udlandet"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"confirm": "on"}, "Give the reason for the stop."),
        ({"reason": "   ", "confirm": "on"}, "Give the reason for the stop."),
        ({"reason": "Fejl"}, "Confirm the stop by ticking the box."),
        ({"reason": "x" * 501, "confirm": "on"}, "at most 500 characters"),
    ],
)
def test_a_stop_without_reason_or_confirmation_stops_nothing(as_stopper, batch, form, error):
    payment = make_payment(batch, "completed")
    page = html(as_stopper.post(url("stop"), {"payment": payment.pk, **form}))
    assert "There is a problem" in page
    assert error in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.COMPLETED
    assert not AuditEvent.objects.filter(action="payment.stop").exists()


def test_a_caseworker_stops_a_selection_from_the_search_results(as_stopper, batch):
    first = make_payment(batch, "completed", reference="SEL-1")
    second = make_payment(batch, "received", reference="SEL-2")
    forwarded = make_payment(batch, "forwarded", reference="SEL-3")
    page = html(as_stopper.get(url("search"), {"reference": ""}))
    for pending in (first, second):
        assert f'name="payment" value="{pending.pk}"' in page
    assert f'name="payment" value="{forwarded.pk}"' not in page
    assert '<form method="get" action="/en/betalinger/stop/">' in page

    search_address = url("search") + "?reference="
    confirm = html(
        as_stopper.get(url("stop"), {"payment": [first.pk, second.pk], "next": search_address})
    )
    assert "SEL-1" in confirm
    assert "SEL-2" in confirm
    response = as_stopper.post(
        url("stop"),
        {
            "payment": [first.pk, second.pk],
            "reason": "Dobbeltudbetaling",
            "confirm": "on",
            "next": search_address,
        },
        follow=True,
    )
    page = html(response)
    assert response.redirect_chain[-1][0] == search_address
    assert "Payment SEL-1 is stopped." in page
    assert "Payment SEL-2 is stopped." in page
    assert set(
        Payment.objects.filter(reference__startswith="SEL").values_list("reference", "status")
    ) == {("SEL-1", "stopped"), ("SEL-2", "stopped"), ("SEL-3", "forwarded")}


def test_a_forwarded_payment_cannot_be_stopped_and_the_caseworker_is_told_why(as_stopper, batch):
    payment = make_payment(batch, "forwarded", reference="GONE")
    detail = html(as_stopper.get(url("detail", payment.pk)))
    assert "/en/betalinger/stop/" not in detail
    assert "The payment can no longer be stopped: it has been forwarded to the bank." in detail

    confirm = html(as_stopper.get(url("stop"), {"payment": payment.pk}))
    assert "None of the chosen payments can be stopped." in confirm
    assert 'name="reason"' not in confirm

    # Forwarded between the confirmation and the stop: the service refuses, clearly.
    response = as_stopper.post(
        url("stop"), {"payment": payment.pk, "reason": "Fejl", "confirm": "on"}, follow=True
    )
    page = html(response)
    assert (
        "Payment GONE was not stopped: it has already been forwarded to the bank, and only "
        "pending payments can be stopped."
    ) in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FORWARDED


def test_a_payment_the_caseworker_cannot_see_cannot_be_named_in_a_stop(as_stopper, batch):
    mine = make_payment(batch, "completed")
    unseen = mine.pk + 1000
    page = html(
        as_stopper.post(url("stop"), {"payment": [unseen], "reason": "Fejl", "confirm": "on"})
    )
    assert (
        "No payment is chosen, or none of the chosen payments is among those you may see." in page
    )
    page = html(
        as_stopper.post(
            url("stop"), {"payment": [mine.pk, unseen], "reason": "Fejl", "confirm": "on"}
        )
    )
    assert f"Payment {unseen} is not among the payments you may see." in page
    mine.refresh_from_db()
    assert mine.status == PaymentStatus.COMPLETED
    assert not AuditEvent.objects.filter(action="payment.stop").exists()


def test_a_stop_profile_on_one_unit_does_not_stop_payments_of_another(client, world):
    theirs = make_payment(make_batch(world, los_unit=world.sibling), "completed", reference="S")
    user = caseworker_with(world.authority, world.unit, "nks-stop-bet")
    grant(user, "nks-soeg-bet", world.sibling)  # sees the sibling's pending payments
    client.force_login(user)
    detail = html(client.get(url("detail", theirs.pk)))
    assert "/en/betalinger/stop/" not in detail
    assert "you do not hold the profile NKS-Stop-Bet on LOS unit SKAT" in detail
    response = client.post(
        url("stop"), {"payment": theirs.pk, "reason": "Fejl", "confirm": "on"}, follow=True
    )
    assert "Payment S was not stopped: it is not on a LOS unit where you may stop payments." in (
        html(response)
    )
    theirs.refresh_from_db()
    assert theirs.status == PaymentStatus.COMPLETED
