"""Issue 7, acceptance 1, the citizen's and the business's parts, through the real pages and the
real log-in (the local OpenID provider): a citizen changes the NemKonto; a citizen changes an
unlocked specific account and is refused on a locked one; a business sees but cannot change.

The data is portal/tests/citizen_world.py's, committed where the web server sees it. Texts are
matched in Danish or English, so the tests hold whether or not the Danish catalogue is compiled.
"""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.tests.citizen_world import World, active_nemkonto, build_world
from registry.models import NemKonto, Notice, SpecificAccount

OVERVIEW = "/min-nemkonto/"
CHANGE = "/min-nemkonto/skift/"
SPECIFIC = "/min-nemkonto/specifikke-konti/"


@pytest.fixture
def world(portal: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


def heading(page: Page) -> Any:
    return expect(page.get_by_role("heading", level=1))


def main_menu_link(page: Page, name: str) -> Any:
    menu = page.get_by_role("navigation", name=re.compile("Hovedmenu|Main menu"))
    return menu.get_by_role("link", name=re.compile(name))


def fill_account(page: Page, reg: str, number: str) -> None:
    page.locator("#id_kind_0").check()
    page.locator("#id_reg").fill(reg)
    page.locator("#id_number").fill(number)


def test_a_citizen_changes_the_nemkonto(
    page: Page, login: Any, world: World, assert_accessible: Any, screenshot: Any
) -> None:
    login(page, world.citizen, next=OVERVIEW)
    heading(page).to_have_text(re.compile("Din NemKonto|Your NemKonto"))
    expect(page.locator("main")).to_contain_text("****4567")
    assert_accessible(page)
    screenshot(page, "citizen-nemkonto")

    page.locator(f'main a[href="{CHANGE}"]').click()
    heading(page).to_have_text(re.compile("Skift din NemKonto|Change your NemKonto"))
    assert_accessible(page)

    # A wrong reg.nr. is a form error, and nothing changes.
    fill_account(page, "12", "7654321")
    page.locator('main button[name="step"][value="review"]').click()
    expect(page.locator("main .alert-error")).to_be_visible()
    expect(page.locator("#id_reg_error")).to_contain_text("4")
    assert_accessible(page)

    fill_account(page, "5301", "7654321")
    page.locator('main button[name="step"][value="review"]').click()
    heading(page).to_have_text(re.compile("Kontrollér og bekræft|Check and confirm"))
    expect(page.locator("main")).to_contain_text("5301-0007654321")
    current = active_nemkonto(world.person)
    assert current is not None
    assert current.number == "0001234567"  # nothing is changed before the confirmation
    assert_accessible(page)
    screenshot(page, "citizen-nemkonto-confirm")

    page.locator('main button[name="step"][value="confirm"]').click()
    page.wait_for_url(f"**{OVERVIEW}")
    expect(page.locator(".alert-success")).to_contain_text("****4321")
    expect(page.locator(".nk-messages")).to_contain_text("karen@borger.example.dk")
    assert_accessible(page)
    screenshot(page, "citizen-nemkonto-changed")
    current = active_nemkonto(world.person)
    assert current is not None
    assert (current.reg, current.number, current.channel) == ("5301", "0007654321", "citizen")
    assert Notice.objects.filter(
        recipient=world.person, kind=Notice.Kind.NEMKONTO_CHANGED, body__contains="****4321"
    ).exists()

    main_menu_link(page, "Hvem har slået mig op|Who has looked me up").click()
    expect(page.locator("#aendringer + div table")).to_contain_text("****4321")
    assert_accessible(page)
    screenshot(page, "citizen-activity")


def test_a_citizen_changes_an_unlocked_specific_account_and_is_refused_on_a_locked_one(
    page: Page, login: Any, world: World, assert_accessible: Any, screenshot: Any
) -> None:
    login(page, world.citizen, next=OVERVIEW)
    main_menu_link(page, "Specifikke konti|Specific accounts").click()
    heading(page).to_have_text(re.compile("Specifikke konti|Specific accounts"))
    table = page.locator("main table")
    expect(table).to_contain_text("****2223")
    expect(table).to_contain_text("****8887")
    # The locked one has no actions, only who can change it.
    expect(page.locator('main a[href*="/KP/"]')).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "citizen-specific-accounts")

    page.locator('main a[href$="/BS/skift/"]').click()
    fill_account(page, "5301", "7654321")
    page.locator('main button[name="step"][value="review"]').click()
    expect(page.locator("main")).to_contain_text("5301-0007654321")
    assert_accessible(page)
    page.locator('main button[name="step"][value="confirm"]').click()
    page.wait_for_url(f"**{SPECIFIC}")
    expect(page.locator(".alert-success")).to_contain_text("****4321")
    assert_accessible(page)
    screenshot(page, "citizen-specific-changed")
    changed = SpecificAccount.objects.get(
        recipient=world.person, benefit__code="BS", state=SpecificAccount.State.ACTIVE
    )
    assert (changed.reg, changed.number) == ("5301", "0007654321")

    # The locked one: its change address answers 403 and says who can change it.
    response = page.goto(f"{SPECIFIC}kbh/KP/skift/")
    assert response is not None
    assert response.status == 403
    heading(page).to_have_text(re.compile("Den specifikke konto er låst|is locked"))
    expect(page.locator("main")).to_contain_text("Testkøbing Kommune")
    expect(page.locator("main form")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "citizen-specific-locked")
    locked = SpecificAccount.objects.get(
        recipient=world.person, benefit__code="KP", state=SpecificAccount.State.ACTIVE
    )
    assert locked.pk == world.locked_specific.pk
    assert locked.number == "0009998887"


def test_a_business_sees_but_cannot_change(
    page: Page, login: Any, world: World, assert_accessible: Any, screenshot: Any
) -> None:
    login(page, world.business, next=OVERVIEW)
    heading(page).to_have_text(re.compile("Jeres virksomheds NemKonto|Your business's NemKonto"))
    expect(page.locator("main")).to_contain_text("****0100")
    expect(page.locator("main .alert-info")).to_contain_text(
        re.compile("pengeinstitut|bank", re.IGNORECASE)
    )
    expect(page.locator(f'main a[href="{CHANGE}"]')).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "business-nemkonto")

    main_menu_link(page, "Specifikke konti|Specific accounts").click()
    expect(page.locator("main .alert-info")).to_be_visible()
    expect(page.locator('main a[href*="/skift/"]')).to_have_count(0)
    assert_accessible(page)

    response = page.goto(CHANGE)
    assert response is not None
    assert response.status == 403
    heading(page).to_have_text(re.compile("Ikke muligt her|Not possible here"))
    assert_accessible(page)
    screenshot(page, "business-change-refused")
    assert list(
        NemKonto.objects.filter(recipient=world.company).values_list("state", "number")
    ) == [("active", "3200100100")]
