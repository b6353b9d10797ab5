"""Issue 7, acceptance 1: a caseworker assigns a NemKonto and the citizen activates it with the
code from the letter. Through the real pages and the real log-in (the local OpenID provider):
the caseworker looks the citizen up with a purpose, registers the new account, downloads the
activation letter (a PDF made by WeasyPrint in the web server); the code is read from that PDF,
and the citizen logs in with MitID and activates the change. Texts are matched in Danish or
English, so the test holds whether or not the Danish catalogue is compiled."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Authority, User
from accounts.tests.factories import (
    AuthorityFactory,
    CitizenFactory,
    EmployeeFactory,
    LosUnitFactory,
    grant,
)
from registry.models import LookupLog, NemKonto, Recipient

CPR = "1207851234"


@pytest.fixture
def authority(portal) -> Authority:
    return AuthorityFactory.create(code="nemby", name="Nemby Kommune")


@pytest.fixture
def caseworker(authority) -> User:
    """Like the demo's nemby-sagsbehandler: both registry profiles on Borgerservice."""
    root = LosUnitFactory.create(authority=authority, code="NEMBY", name="Nemby Kommune")
    borger = LosUnitFactory.create(parent=root, code="BORGER", name="Borgerservice")
    user = EmployeeFactory.create(
        username="soeren-sb", authority=authority, first_name="Søren", last_name="Sagsbehandler"
    )
    grant(user, "nks-opdater-nemkonto", borger)
    grant(user, "nks-opdater-speckonto", borger)
    return user


@pytest.fixture
def citizen(portal) -> User:
    Recipient.objects.create(
        id_type="CPR",
        id_number=CPR,
        name="Karla Kodesen",
        address="Torvet 3",
        postcode="4000",
        city="Roskilde",
    )
    return CitizenFactory.create(
        username="karla", recipient_id=CPR, first_name="Karla", last_name="Kodesen"
    )


def test_a_caseworker_assigns_a_nemkonto_and_the_citizen_activates_it_with_the_letters_code(
    page, login, caseworker, citizen, assert_accessible, screenshot
) -> None:
    login(page, caseworker, next="/sagsbehandler/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Sagsbehandler|Caseworker")
    )
    assert_accessible(page)
    screenshot(page, "caseworker-home")

    # Look the citizen up, with a purpose (the look-up is logged).
    # The menu link a person sees: dkfds keeps a hidden copy for its "more" menu when the menu is
    # wider than the page, and the role locator skips hidden elements.
    page.locator("nav").get_by_role("link", name="Modtagere", exact=True).click()
    page.locator("#id_id_number").fill("120785-1234")
    page.locator("#id_purpose").fill("Sag 2026-117: ny NemKonto ved skranken")
    assert_accessible(page)
    page.locator('main form button[type="submit"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Karla Kodesen")
    assert_accessible(page)
    screenshot(page, "caseworker-recipient")
    row = LookupLog.objects.get()
    assert (row.actor, row.channel) == (caseworker, LookupLog.Channel.PORTAL)
    assert row.purpose == "Sag 2026-117: ny NemKonto ved skranken"

    # Register the new account: the form, then the confirmation.
    page.locator('main a[href$="/nemkonto/"]').click()
    page.locator("#id_reg").fill("3000")
    page.locator("#id_number").fill("4455667788")
    page.locator('main form button[type="submit"]').first.click()
    expect(page.locator("main")).to_contain_text("3000-4455667788")
    assert NemKonto.objects.count() == 0
    assert_accessible(page)
    screenshot(page, "caseworker-nemkonto-confirm")
    page.locator('main button[name="step"][value="confirm"]').click()

    # The letter page: what happens next, and the letter to print or download.
    expect(page.locator(".alert-success")).to_contain_text("****7788")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Aktiveringsbrev|Activation letter")
    )
    expect(page.locator("main")).to_contain_text(
        re.compile("Pengene vil blive udbetalt til din NemKonto|The money will be paid")
    )
    assert_accessible(page)
    screenshot(page, "caseworker-activation-letter")
    with page.expect_download() as download:
        page.locator('main a[href$="brev.pdf?download"]').click()
    pdf = download.value.path().read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Karla Kodesen" in text
    assert "Pengene vil blive udbetalt til din NemKonto." in text
    found = re.search(r"\b(\d{4}) (\d{4})\b", text)
    assert found, text
    code = found.group(1) + found.group(2)
    version = NemKonto.objects.get()
    assert version.state == NemKonto.State.PENDING

    # The citizen logs in with MitID and activates the change with the code from the letter.
    page.context.clear_cookies()
    login(page, citizen, next="/aktiver/")
    page.goto("/aktiver/")
    expect(page.locator("main")).to_contain_text("****7788")
    page.locator("#id_code").fill(f"{code[:4]} {code[4:]}")
    assert_accessible(page)
    page.locator('main form button[type="submit"]').click()
    expect(page.locator(".alert-success")).to_contain_text("****7788")
    assert_accessible(page)
    screenshot(page, "citizen-activated-caseworker-change")
    version.refresh_from_db()
    assert version.state == NemKonto.State.ACTIVE
    assert (version.reg, version.number) == ("3000", "4455667788")
