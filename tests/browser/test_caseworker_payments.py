"""Issue 7, acceptance 1: a caseworker searches and stops a pending payment; a caseworker without
the stop profile does not see the stop action and gets 404 on its address. Through the real
pages, the real log-in (the local OpenID provider) and the Danish portal; texts are matched in
Danish or English, so the tests hold whether or not the Danish catalogue is compiled."""

import re

import pytest
from playwright.sync_api import expect

from payments.models import Payment, PaymentStatus
from payments.tests.payment_factories import caseworker_with, make_batch, make_payment
from payments.tests.pipeline_world import World, build_world


@pytest.fixture
def world(portal) -> World:
    return build_world()


@pytest.fixture
def pending(world) -> Payment:
    batch = make_batch(world)
    make_payment(batch, "forwarded", reference="BORNE-2026-0001")
    return make_payment(batch, "completed", reference="BORNE-2026-0002", amount_ore=431250)


def test_a_caseworker_searches_and_stops_a_pending_payment(
    page, login, world, pending, assert_accessible, screenshot
) -> None:
    stopper = caseworker_with(
        world.authority,
        world.root,
        "nks-stop-bet",
        "nks-soeg-gennemf-bet",
        username="stine-stop",
    )
    login(page, stopper, next="/betalinger/")
    page.get_by_role("link", name=re.compile("^(Betalinger|Payments)$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Søg betalinger|Search payments")
    )

    page.locator("#id_reference").fill("BORNE-2026-0002")
    page.locator("#id_status").select_option("completed")
    page.locator('form[role="search"] button[type="submit"]').click()
    results = page.locator("table tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("BORNE-2026-0002")
    expect(results.first).to_contain_text("4.312,50")
    assert_accessible(page)
    screenshot(page, "caseworker-payment-search")

    page.get_by_role("link", name="BORNE-2026-0002").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BORNE-2026-0002")
    assert_accessible(page)
    page.locator('main a[href^="/betalinger/stop/"]').click()

    expect(page.locator("table tbody tr")).to_contain_text("BORNE-2026-0002")
    page.locator("#id_reason").fill("Borgeren er flyttet til udlandet")
    page.locator('label[for="id_confirm"]').click()
    assert_accessible(page)
    screenshot(page, "caseworker-payment-stop")
    page.locator('main form[method="post"] button[type="submit"]').click()

    expect(page.locator(".alert-success")).to_contain_text("BORNE-2026-0002")
    expect(page.locator("main")).to_contain_text("Borgeren er flyttet til udlandet")
    assert_accessible(page)
    screenshot(page, "caseworker-payment-stopped")
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.STOPPED
    assert pending.stopped_by == stopper


def test_a_caseworker_without_the_stop_profile_sees_no_stop_action_and_gets_404(
    page, login, world, pending, assert_accessible, screenshot
) -> None:
    searcher = caseworker_with(world.authority, world.root, "nks-soeg-bet", username="soeren-soeg")
    login(page, searcher, next=f"/betalinger/?reference={pending.reference}")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator('input[type="checkbox"][name="payment"]')).to_have_count(0)

    page.get_by_role("link", name=pending.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(pending.reference)
    expect(page.locator('a[href*="/betalinger/stop/"]')).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "caseworker-payment-no-stop-profile")

    response = page.goto(f"/betalinger/stop/?payment={pending.pk}")
    assert response is not None
    assert response.status == 404
    pending.refresh_from_db()
    assert pending.status == PaymentStatus.COMPLETED
