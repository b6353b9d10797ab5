"""The citizen's NemKonto pages: overview and history, create, change and delete with a
confirmation step, every change confirmed on screen and by a notice (issue 7)."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.tests.citizen_world import (
    CPR,
    NEMKONTO,
    NEW_ACCOUNT,
    World,
    active_nemkonto,
    build_world,
)
from registry.models import NemKonto, Notice
from registry.services import nemkonto_delete, nemkonto_set

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("portal:citizen:overview")
CHANGE = reverse("portal:citizen:nemkonto_change")
DELETE = reverse("portal:citizen:nemkonto_delete")
FOREIGN = {"kind": "iban", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}


@pytest.fixture
def world(db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


@pytest.fixture
def karen(client: Client, world: World) -> Client:
    client.force_login(world.citizen)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def danish(account: dict[str, str]) -> dict[str, str]:
    return {"kind": "danish", **account}


def test_overview_shows_the_masked_nemkonto_its_bank_and_history(karen: Client) -> None:
    page = html(karen.get(OVERVIEW))
    assert "<h1>Din NemKonto</h1>" in page
    assert "****4567" in page
    assert "0001234567" not in page  # masked on the overview
    assert "DANSKE BANK" in page.upper()
    assert "dig på NemKonto-portalen" in page  # who made the version, in words
    assert 'id="historik"' in page
    assert f'href="{CHANGE}"' in page
    assert f'href="{DELETE}"' in page


def test_without_a_nemkonto_the_overview_explains_and_offers_to_create_one(
    karen: Client, world: World
) -> None:
    nemkonto_delete(actor=world.citizen)
    page = html(karen.get(OVERVIEW))
    assert "Du har ingen NemKonto" in page
    assert "Din NemKonto blev slettet den" in page
    assert "Offentlige myndigheder kan ikke udbetale penge til dig" in page
    assert f'<a class="button button-primary" href="{CHANGE}">Opret NemKonto</a>' in page
    assert f'href="{DELETE}"' not in page
    assert "<h1>Opret din NemKonto</h1>" in html(karen.get(CHANGE))


def test_citizen_changes_the_nemkonto_after_checking_it_and_gets_a_notice(
    karen: Client, world: World
) -> None:
    form = html(karen.get(CHANGE))
    assert "<h1>Skift din NemKonto</h1>" in form
    assert "Din nuværende NemKonto er ****4567." in form

    review = karen.post(CHANGE, {**danish(NEW_ACCOUNT), "step": "review"})
    page = html(review)
    assert "<h1>Kontrollér og bekræft din nye NemKonto</h1>" in page
    assert "5301-0007654321" in page  # the new account in full: the owner checks it
    assert "ARBEJDERNES LANDSBANK" in page.upper()
    assert 'type="hidden" name="number" value="7654321"' in page
    current = active_nemkonto(world.person)
    assert current is not None
    assert current.number == "0001234567"  # nothing changed before the confirmation

    done = karen.post(CHANGE, {**danish(NEW_ACCOUNT), "step": "confirm"}, follow=True)
    assert done.redirect_chain[-1][0] == OVERVIEW
    page = html(done)
    assert "Din NemKonto er nu ****4321." in page
    assert "Vi har sendt dig en meddelelse om det på e-mail til karen@borger.example.dk." in page
    assert "Pengeinstituttet for den tidligere konto (reg.nr. 3000) får også besked" in page
    current = active_nemkonto(world.person)
    assert current is not None
    assert (current.reg, current.number, current.channel) == ("5301", "0007654321", "citizen")
    notices = Notice.objects.filter(recipient=world.person, kind=Notice.Kind.NEMKONTO_CHANGED)
    assert notices.filter(to_address="karen@borger.example.dk", body__contains="****4321").exists()
    assert Notice.objects.filter(
        recipient=world.person, kind=Notice.Kind.OLD_ACCOUNT, to_address="reg.nr. 3000"
    ).exists()


def test_going_back_from_the_check_shows_the_form_with_the_input(karen: Client) -> None:
    page = html(karen.post(CHANGE, {**danish(NEW_ACCOUNT), "step": "edit"}))
    assert "<h1>Skift din NemKonto</h1>" in page
    assert re.search(r'<input[^>]*name="reg"[^>]*value="5301"', page)
    assert "Der er et problem" not in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (danish({"reg": "12", "number": "1234"}), "reg", "skal være 4 cifre"),
        (danish({"reg": "3000", "number": "12ab"}), "number", "kun indeholde cifre"),
        (danish({"reg": "3000", "number": ""}), "number", "Kontonummeret mangler"),
        ({"kind": "iban", "iban": "DE89 3704 0044 0532 0130 01"}, "iban", "kontrolcifre"),
        ({"kind": "iban", "iban": FOREIGN["iban"], "bic": ""}, "bic", "BIC"),
        ({"kind": "other", "reg": "3000", "number": "1"}, "kind", ""),
    ],
)
def test_bad_input_gives_form_errors_and_changes_nothing(
    karen: Client, world: World, data: dict[str, str], field: str, message: str
) -> None:
    notices_before = Notice.objects.count()
    for step in ("review", "confirm"):
        response = karen.post(CHANGE, {**data, "step": step})
        assert response.status_code == 200
        page = html(response)
        assert "Der er et problem" in page  # the error summary
        assert f'id="id_{field}_error"' in page or f'id="id_{field}_0' in page
        assert message in page
        assert 'aria-invalid="true"' in page or field == "kind"
    assert NemKonto.objects.filter(recipient=world.person).count() == 1
    current = active_nemkonto(world.person)
    assert current is not None
    assert current.number == "0001234567"
    assert Notice.objects.count() == notices_before


def test_a_foreign_account_is_held_for_review_and_the_overview_says_so(
    karen: Client, world: World
) -> None:
    review = html(karen.post(CHANGE, {**FOREIGN, "step": "review"}))
    assert "DE89370400440532013000 (COBADEFFXXX)" in review
    assert "Når NemKonto-tjenesten har kontrolleret den udenlandske konto" in review
    done = html(karen.post(CHANGE, {**FOREIGN, "step": "confirm"}, follow=True))
    assert "Din nye NemKonto ****3000 er registreret." in done
    assert "(udenlandsk konto)" in done  # why it is checked
    assert "Din nye NemKonto bliver kontrolleret" in done
    assert "Derfor bliver den kontrolleret: udenlandsk konto." in done
    current = active_nemkonto(world.person)
    assert current is not None
    assert current.number == "0001234567"  # still in force until the review
    assert NemKonto.objects.filter(recipient=world.person, state="held_for_review").exists()


def test_registering_the_present_account_again_changes_nothing(karen: Client, world: World) -> None:
    done = html(karen.post(CHANGE, {**danish(NEMKONTO), "step": "confirm"}, follow=True))
    assert "****4567 er allerede din NemKonto: intet blev ændret." in done
    assert NemKonto.objects.filter(recipient=world.person).count() == 1


def test_citizen_deletes_the_nemkonto_after_a_warning(karen: Client, world: World) -> None:
    page = html(karen.get(DELETE))
    assert "Vil du slette din NemKonto ****4567?" in page
    assert "kan offentlige myndigheder ikke udbetale penge til dig" in page
    assert active_nemkonto(world.person) is not None

    done = karen.post(DELETE, follow=True)
    assert done.redirect_chain[-1][0] == OVERVIEW
    page = html(done)
    assert "Din NemKonto ****4567 er slettet." in page
    assert "på e-mail til karen@borger.example.dk" in page
    assert "Du har ingen NemKonto" in page
    assert active_nemkonto(world.person) is None
    assert Notice.objects.filter(recipient=world.person, kind=Notice.Kind.NEMKONTO_DELETED).exists()


def test_deleting_without_a_nemkonto_says_there_is_none(karen: Client, world: World) -> None:
    nemkonto_delete(actor=world.citizen)
    done = karen.get(DELETE, follow=True)
    assert done.redirect_chain[-1][0] == OVERVIEW
    assert "Du har ingen NemKonto, der kan slettes." in html(done)


def test_the_history_is_paged_newest_first(karen: Client, world: World) -> None:
    for number in range(1, 12):  # 11 more versions: 12 in all
        nemkonto_set(actor=world.citizen, account={"reg": "3000", "number": f"{number:04d}"})
    first = html(karen.get(OVERVIEW))
    history = first[first.index('id="historik"') :]
    assert history.count("<tr>") == 11  # the header row and 10 versions
    assert history.index("****0011") < history.index("****0010")  # newest first
    assert "****4567" not in history  # the first version is on page 2
    assert 'href="?side=2#historik"' in history
    second = html(karen.get(OVERVIEW, {"side": "2"}))
    history = second[second.index('id="historik"') :]
    assert "****4567" in history
    assert 'aria-current="page"><span class="sr-only">Side </span>2</a>' in history


def test_a_waiting_caseworker_change_is_shown_with_the_way_to_activate(
    karen: Client, world: World
) -> None:
    world.pending_change()
    page = html(karen.get(OVERVIEW))
    assert "En ny NemKonto venter på, at du aktiverer den" in page
    assert "Testkøbing Kommune registrerede kontoen ****4321 som din nye NemKonto" in page
    assert "Koden gælder til" in page
    assert f'href="{reverse("portal:citizen:activate")}"' in page
    assert "****4567" in page  # the present one is still in force


def test_the_english_pages_are_complete(karen: Client) -> None:
    page = html(karen.get("/en" + OVERVIEW))
    assert "<h1>Your NemKonto</h1>" in page
    assert "History of the NemKonto" in page
    review = html(karen.post("/en" + CHANGE, {**danish(NEW_ACCOUNT), "step": "review"}))
    assert "Check and confirm your new NemKonto" in review


def test_the_overview_names_the_person_without_the_cpr_number(karen: Client) -> None:
    page = html(karen.get(OVERVIEW))
    assert '<p class="font-lead">Karen Testesen</p>' in page
    assert CPR not in page


def test_deleting_with_only_a_held_change_cancels_that_change(karen: Client, world: World) -> None:
    nemkonto_delete(actor=world.citizen)
    karen.post(CHANGE, {**FOREIGN, "step": "confirm"})
    held = NemKonto.objects.get(recipient=world.person, state="held_for_review")
    done = html(karen.post(DELETE, follow=True))
    assert "Ændringen af din NemKonto til ****3000, som ventede, er annulleret." in done
    held.refresh_from_db()
    assert held.state == NemKonto.State.CANCELLED
