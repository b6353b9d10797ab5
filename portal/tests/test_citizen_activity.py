""" "Who has looked me up or changed my accounts": the look-up log, the changes of the NemKonto
and specific accounts and the notices sent, newest first and paged (DOMAIN.md section 11)."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import CitizenFactory
from portal.tests.citizen_world import CPR, World, build_world
from registry.models import LookupLog, Recipient
from registry.services import lookup_log_write

pytestmark = pytest.mark.django_db

URL = reverse("portal:citizen:activity")


@pytest.fixture
def world(db: None, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> World:
    return build_world(settings, monkeypatch, tmp_path)


@pytest.fixture
def karen(client: Client, world: World) -> Client:
    client.force_login(world.citizen)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find("<h2", start)
    return page[start : end if end != -1 else None]


def look_up(world: World, purpose: str) -> LookupLog:
    return lookup_log_write(
        channel=LookupLog.Channel.PORTAL,
        cpr=CPR,
        purpose=purpose,
        result=LookupLog.Result.FOUND,
        user=world.nk_caseworker,
        authority=world.authority,
    )


def test_the_citizen_sees_who_looked_them_up_with_purpose_newest_first(
    karen: Client, world: World
) -> None:
    look_up(world, "Boligstøtte: ny ansøgning")
    look_up(world, "Henvendelse i Borgerservice")
    page = html(karen.get(URL))
    assert "<h1>Hvem har slået dig op eller ændret dine konti</h1>" in page
    lookups = section(page, "opslag")
    assert lookups.count("nemkonto-sb") == 2
    assert "Testkøbing Kommune" in lookups
    assert lookups.index("Henvendelse i Borgerservice") < lookups.index("Boligstøtte: ny ansøgning")
    assert "Portal" in lookups
    assert "Fundet" in lookups


def test_the_look_up_log_is_paged(karen: Client, world: World) -> None:
    for number in range(12):
        look_up(world, f"Sag {number:02d}")
    first = section(html(karen.get(URL)), "opslag")
    assert "Sag 11" in first
    assert "Sag 01" not in first
    assert 'href="?opslag=2#opslag"' in first
    second = section(html(karen.get(URL, {"opslag": "2"})), "opslag")
    assert "Sag 01" in second
    assert "Sag 00" in second
    assert "Sag 11" not in second


def test_someone_elses_look_ups_are_not_shown(karen: Client, world: World) -> None:
    lookup_log_write(
        channel=LookupLog.Channel.API,
        cpr="0202851234",
        purpose="En anden borger",
        result=LookupLog.Result.FOUND,
        user=world.nk_caseworker,
        authority=world.authority,
    )
    page = html(karen.get(URL))
    assert "En anden borger" not in page
    assert "Ingen har slået dig op med dit CPR-nummer." in page


def test_changes_and_notices_are_listed_with_who_made_them(karen: Client, world: World) -> None:
    world.pending_change()
    page = html(karen.get(URL))
    changes = section(page, "aendringer")
    assert changes.index("****4321") < changes.index("****4567")  # newest first
    assert "Registreret, venter på aktivering eller kontrol" in changes
    assert "Testkøbing Kommune" in changes  # the caseworker's authority
    assert "dig på NemKonto-portalen" in changes  # the citizen's own NemKonto
    assert "Specifik konto (KP)" in changes
    assert "Specifik konto (BS)" in changes
    notices = section(page, "breve")
    assert "En ny NemKonto venter på, at du aktiverer den" in notices
    assert "Din NemKonto er ændret" in notices
    assert "E-mail: karen@borger.example.dk" in notices


def test_a_citizen_without_any_activity_sees_empty_states(client: Client, world: World) -> None:
    Recipient.objects.create(id_type="CPR", id_number="0202851234", name="Ny Borger")
    client.force_login(CitizenFactory.create(username="ny", recipient_id="0202851234"))
    page = html(client.get(URL))
    assert "Ingen har slået dig op med dit CPR-nummer." in page
    assert "Dine konti er ikke blevet ændret." in page
    assert "Vi har ikke sendt dig nogen meddelelser." in page
