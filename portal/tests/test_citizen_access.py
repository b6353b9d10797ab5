"""Who sees the citizen and business pages: a business sees its NemKonto and specific accounts
but cannot change them (told to use its bank or the paying authority); other logins find no
such pages; anonymous visitors are sent to the login (issue 7)."""

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import CitizenFactory
from portal.tests.citizen_world import World, build_world
from registry.models import NemKonto, Notice, Recipient, SpecificAccount

pytestmark = pytest.mark.django_db

READ_PAGES = ("overview", "specific_accounts", "activity", "activate")
CHANGE_PAGES = ("nemkonto_change", "nemkonto_delete")


@pytest.fixture
def world(db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


def html(response: Any) -> str:
    return response.content.decode()


def specific_urls(specific: SpecificAccount) -> list[str]:
    kwargs = {"authority": specific.authority.code, "benefit": specific.benefit.code}
    return [
        reverse("portal:citizen:specific_change", kwargs=kwargs),
        reverse("portal:citizen:specific_delete", kwargs=kwargs),
    ]


def all_urls(world: World) -> list[str]:
    return [
        *(reverse(f"portal:citizen:{name}") for name in (*READ_PAGES, *CHANGE_PAGES)),
        *specific_urls(world.open_specific),
    ]


def test_the_activation_page_keeps_its_address() -> None:
    assert reverse("portal:citizen:activate") == "/aktiver/"
    assert reverse("portal:citizen:overview") == "/min-nemkonto/"


def test_anonymous_visitors_are_sent_to_the_login(client: Client, world: World) -> None:
    for url in all_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login"))


def test_business_sees_its_nemkonto_read_only_and_is_told_where_changes_go(
    client: Client, world: World
) -> None:
    company_specific = SpecificAccount.objects.create(
        recipient=world.company,
        authority=world.authority,
        benefit=world.open_benefit,
        account_kind="danish",
        reg="9570",
        number="0000005555",
        locked=False,
        state=SpecificAccount.State.ACTIVE,
        channel="caseworker",
        actor_label="speckonto-sb",
    )
    client.force_login(world.business)
    overview = html(client.get(reverse("portal:citizen:overview")))
    assert "<h1>Jeres virksomheds NemKonto</h1>" in overview
    assert "Firma ApS, CVR-nummer 29500029" in overview
    assert "****0100" in overview
    assert "Ændringer sker gennem jeres pengeinstitut eller den udbetalende myndighed" in overview
    assert "dit pengeinstitut (bank 3000)" in overview  # who registered it
    for name in CHANGE_PAGES:
        assert reverse(f"portal:citizen:{name}") not in overview

    specific = html(client.get(reverse("portal:citizen:specific_accounts")))
    assert "****5555" in specific
    assert "Ændringer sker gennem den udbetalende myndighed" in specific
    for url in specific_urls(company_specific):
        assert url not in specific

    activity = html(client.get(reverse("portal:citizen:activity")))
    assert "Opslag bliver logget for personer (CPR-numre)." in activity


def test_business_gets_403_on_every_change_page_and_nothing_changes(
    client: Client, world: World
) -> None:
    client.force_login(world.business)
    versions, notices = NemKonto.objects.count(), Notice.objects.count()
    for name in CHANGE_PAGES:
        url = reverse(f"portal:citizen:{name}")
        for response in (
            client.get(url),
            client.post(url, {"kind": "danish", "reg": "3000", "number": "42", "step": "confirm"}),
        ):
            assert response.status_code == 403, url
            page = html(response)
            assert "<h1>Ikke muligt her</h1>" in page
            assert "Virksomheder kan ikke ændre konti på portalen" in page
    for url in specific_urls(world.open_specific):
        assert client.post(url, {"step": "confirm"}).status_code == 403
    assert (NemKonto.objects.count(), Notice.objects.count()) == (versions, notices)
    current = NemKonto.objects.get(recipient=world.company, state="active")
    assert current.number == "3200100100"


@pytest.mark.parametrize("who", ["nk_caseworker", "operator"])
def test_other_logins_find_no_citizen_pages(client: Client, world: World, who: str) -> None:
    user = (
        world.nk_caseworker
        if who == "nk_caseworker"
        else User.objects.create_user("drift", kind=User.Kind.OPERATOR, is_staff=True)
    )
    client.force_login(user)
    for url in all_urls(world):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"code": "12345678", "step": "confirm"}).status_code == 404, url


def test_a_citizen_not_in_the_register_is_told_so(client: Client, world: World) -> None:
    client.force_login(CitizenFactory.create(username="ukendt", recipient_id="0303031234"))
    response = client.get(reverse("portal:citizen:overview"))
    assert response.status_code == 404
    assert "Dit ID findes ikke i CPR- eller CVR-registret." in html(response)


def test_a_citizen_cannot_reach_another_citizens_specific_account(
    client: Client, world: World
) -> None:
    other = CitizenFactory.create(username="anden", recipient_id="0202851234")
    Recipient.objects.create(id_type="CPR", id_number="0202851234", name="Anden Borgersen")
    client.force_login(other)
    for url in specific_urls(world.open_specific):
        assert client.get(url).status_code == 404
        assert client.post(url, {"kind": "danish", "reg": "3000", "number": "1"}).status_code == 404
    assert SpecificAccount.objects.get(pk=world.open_specific.pk).state == "active"


def test_the_navigation_marks_the_current_section(rf: Any, world: World) -> None:
    request = rf.get("/min-nemkonto/specifikke-konti/")
    html_ = render_to_string(
        "portal/citizen/nav_items.html", {"section": "specific"}, request=request
    )
    assert html_.count("<li") == 4
    assert (
        f'<li class="active current"><a href="{reverse("portal:citizen:specific_accounts")}" '
        'class="nav-link" aria-current="page">' in html_
    )
    assert html_.count('aria-current="page"') == 1
