"""The citizen's specific accounts: listed with authority, benefit, account, end date and lock;
the unlocked ones changed or deleted after a confirmation, the locked ones refused with nothing
changed (DOMAIN.md section 5, issue 7)."""

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.tests.citizen_world import OPEN_ACCOUNT, World, build_world
from registry.models import Notice, SpecificAccount
from registry.services import specific_account_delete, specific_account_update

pytestmark = pytest.mark.django_db

LIST = reverse("portal:citizen:specific_accounts")
NEW = {"kind": "danish", "reg": "5301", "number": "7654321"}


@pytest.fixture
def world(db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


@pytest.fixture
def karen(client: Client, world: World) -> Client:
    client.force_login(world.citizen)
    return client


def url(name: str, specific: SpecificAccount) -> str:
    return reverse(
        f"portal:citizen:specific_{name}",
        kwargs={"authority": specific.authority.code, "benefit": specific.benefit.code},
    )


def live(world: World, benefit: str) -> SpecificAccount:
    return SpecificAccount.objects.get(
        recipient=world.person, benefit__code=benefit, state=SpecificAccount.State.ACTIVE
    )


def html(response: Any) -> str:
    return response.content.decode()


def test_the_list_shows_both_accounts_and_actions_only_for_the_unlocked_one(
    karen: Client, world: World
) -> None:
    end = timezone.localdate() + datetime.timedelta(days=30)
    specific_account_update(
        actor=world.sa_caseworker, specific_account=world.open_specific, end_date=end
    )
    page = html(karen.get(LIST))
    assert "<h1>Specifikke konti</h1>" in page
    for text in ("Testkøbing Kommune", "Boligstøtte", "Kapitalpension", "****2223", "****8887"):
        assert text in page
    assert end.strftime("%d.%m.%Y") in page
    assert "<strong>Låst</strong>" in page
    assert "Kun Testkøbing Kommune kan ændre eller slette den." in page
    opened = live(world, "BS")
    assert f'href="{url("change", opened)}"' in page
    assert f'href="{url("delete", opened)}"' in page
    assert url("change", world.locked_specific) not in page
    assert url("delete", world.locked_specific) not in page


def test_citizen_changes_an_unlocked_specific_account_and_gets_a_notice(
    karen: Client, world: World
) -> None:
    change = url("change", world.open_specific)
    form = html(karen.get(change))
    assert "Testkøbing Kommune udbetaler Boligstøtte til kontoen ****2223" in form
    review = html(karen.post(change, {**NEW, "step": "review"}))
    assert "<h1>Kontrollér og bekræft den nye konto</h1>" in review
    assert "5301-0007654321" in review
    assert live(world, "BS").number == "0001112223"  # nothing yet

    done = karen.post(change, {**NEW, "step": "confirm"}, follow=True)
    assert done.redirect_chain[-1][0] == LIST
    page = html(done)
    assert "Testkøbing Kommune udbetaler nu Boligstøtte til kontoen ****4321." in page
    assert "på e-mail til karen@borger.example.dk" in page
    changed = live(world, "BS")
    assert (changed.reg, changed.number, changed.channel) == ("5301", "0007654321", "citizen")
    assert not changed.locked
    assert Notice.objects.filter(
        recipient=world.person, kind=Notice.Kind.SPECIFIC_CHANGED, body__contains="****4321"
    ).exists()


def test_a_locked_specific_account_is_refused_with_a_clear_message_and_nothing_changes(
    karen: Client, world: World
) -> None:
    notices = Notice.objects.count()
    for address in (url("change", world.locked_specific), url("delete", world.locked_specific)):
        page = karen.get(address)
        assert page.status_code == 403
        text = html(page)
        assert "<h1>Den specifikke konto er låst</h1>" in text
        assert "Testkøbing Kommune har låst kontoen til Kapitalpension" in text
        assert "Intet er blevet ændret." in text
        assert "<form" not in text.split("<main", 1)[1].split("</main>", 1)[0]
    for data in ({**NEW, "step": "confirm"}, {}):
        refused = karen.post(url("change", world.locked_specific), data)
        assert refused.status_code == 403
    assert karen.post(url("delete", world.locked_specific)).status_code == 403
    locked = live(world, "KP")
    assert locked.pk == world.locked_specific.pk
    assert locked.number == "0009998887"
    assert Notice.objects.count() == notices


def test_when_the_authority_locks_it_meanwhile_the_confirmation_is_refused(
    karen: Client, world: World
) -> None:
    change = url("change", world.open_specific)
    karen.post(change, {**NEW, "step": "review"})
    # The authority locks the account while the citizen looks at the check page.
    locked = specific_account_update(
        actor=world.sa_caseworker, specific_account=world.open_specific, locked=True
    )
    refused = karen.post(change, {**NEW, "step": "confirm"})
    assert refused.status_code == 403
    assert "Testkøbing Kommune har låst kontoen til Boligstøtte" in html(refused)
    assert live(world, "BS").pk == locked.pk
    assert live(world, "BS").number == "0001112223"


def test_bad_input_on_a_specific_account_gives_form_errors_and_changes_nothing(
    karen: Client, world: World
) -> None:
    response = karen.post(
        url("change", world.open_specific), {"kind": "danish", "reg": "9999", "number": "1"}
    )
    assert response.status_code == 200
    page = html(response)
    assert "Der er et problem" in page
    assert "hører ikke til et kendt dansk pengeinstitut" in page
    assert live(world, "BS").pk == world.open_specific.pk


def test_citizen_deletes_an_unlocked_specific_account(karen: Client, world: World) -> None:
    delete = url("delete", world.open_specific)
    page = html(karen.get(delete))
    assert (
        "Vil du slette kontoen ****2223, som Testkøbing Kommune udbetaler Boligstøtte til?" in page
    )
    done = karen.post(delete, follow=True)
    assert done.redirect_chain[-1][0] == LIST
    text = html(done)
    assert "Den specifikke konto til Boligstøtte er slettet" in text
    assert "****2223" not in text
    assert not SpecificAccount.objects.filter(
        recipient=world.person, benefit__code="BS", state=SpecificAccount.State.ACTIVE
    ).exists()
    assert Notice.objects.filter(recipient=world.person, kind=Notice.Kind.SPECIFIC_DELETED).exists()


def test_an_unknown_specific_account_is_not_found(karen: Client) -> None:
    address = reverse(
        "portal:citizen:specific_change", kwargs={"authority": "kbh", "benefit": "NOPE"}
    )
    response = karen.get(address)
    assert response.status_code == 404
    assert "Du har ingen specifik konto til denne ydelse." in html(response)


def test_without_specific_accounts_the_list_explains(karen: Client, world: World) -> None:
    for specific in (world.open_specific, world.locked_specific):
        specific_account_delete(actor=world.sa_caseworker, specific_account=specific)
    page = html(karen.get(LIST))
    assert "Du har ingen specifikke konti" in page
    assert "<table" not in page
    assert OPEN_ACCOUNT["number"] not in page
