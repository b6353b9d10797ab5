"""The portal page "activate with code" (DOMAIN.md section 4): the same rules as the phone menu,
at its old address /aktiver/ (moved here from registry/tests/test_activation_page.py)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.tests.citizen_world import CODE, CVR, World, active_nemkonto, build_world
from registry.models import NemKonto, Notice
from registry.services import nemkonto_change_by_caseworker

pytestmark = pytest.mark.django_db

URL = reverse("portal:citizen:activate")


@pytest.fixture
def world(db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


def html(response: Any) -> str:
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_citizen_activates_the_change_with_the_code(client: Client, world: World) -> None:
    pending = world.pending_change()
    client.force_login(world.citizen)
    page = html(client.get(URL))
    assert "<h1>Aktivér med kode</h1>" in page
    assert "Venter på din kode: Testkøbing Kommune har registreret kontoen ****4321" in page
    response = client.post(URL, {"code": CODE}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:citizen:overview")
    page = html(response)
    assert "Din nye NemKonto ****4321 er nu i kraft." in page
    assert "på e-mail til karen@borger.example.dk" in page
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.ACTIVE
    assert active_nemkonto(world.person) == pending
    assert Notice.objects.filter(
        recipient=world.person, kind=Notice.Kind.NEMKONTO_CHANGED, body__contains="****4321"
    ).exists()


def test_a_wrong_code_is_a_form_error_and_counts(client: Client, world: World) -> None:
    pending = world.pending_change()
    client.force_login(world.citizen)
    response = client.post(URL, {"code": "00000000"})
    assert response.status_code == 200
    page = html(response)
    assert "Der er et problem" in page
    assert "Aktiveringskoden er forkert" in page
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.PENDING
    assert pending.activation_letter.attempts == 1


def test_without_a_waiting_change_the_page_says_so(client: Client, world: World) -> None:
    client.force_login(world.citizen)
    page = html(client.get(URL))
    assert "Der er ingen ændring af din NemKonto, som venter på aktivering lige nu." in page
    response = client.post(URL, {"code": CODE})
    assert response.status_code == 200
    assert "Der er ingen ændring af NemKonto, der afventer aktivering for dette ID." in html(
        response
    )


def test_a_business_activates_its_own_waiting_change(client: Client, world: World) -> None:
    pending = nemkonto_change_by_caseworker(
        actor=world.nk_caseworker,
        id_type="CVR",
        id_number=CVR,
        account={"reg": "5301", "number": "1010"},
    ).version
    client.force_login(world.business)
    response = client.post(URL, {"code": CODE}, follow=True)
    assert "Din nye NemKonto ****1010 er nu i kraft." in html(response)
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.ACTIVE


def test_a_caseworker_login_finds_no_activation_page(client: Client, world: World) -> None:
    pending = world.pending_change()
    client.force_login(world.nk_caseworker)
    assert client.post(URL, {"code": CODE}).status_code == 404
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.PENDING
