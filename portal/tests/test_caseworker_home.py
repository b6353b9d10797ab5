"""The caseworker home page and the caseworker navigation: what the user's role profiles on
their units allow, and nothing else."""

import pytest

from portal.tests.caseworker_fixtures import *  # noqa: F403
from portal.tests.caseworker_fixtures import url

pytestmark = pytest.mark.django_db


def test_home_lists_the_profiles_on_their_units_and_links_to_the_look_up(
    logged_in, full_caseworker
):
    response = logged_in(full_caseworker).get(url("home", language="en"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "You work for Testkøbing Kommune." in html
    assert "NKS-Opdater-NemKonto" in html
    assert "NKS-Opdater-SpecKonto" in html
    assert "Borgerservice (BORGER)" in html
    assert "Update NemKonto for citizens and businesses" in html
    assert "Create, change, lock and delete specific accounts for the authority" in html
    assert f'href="{url("lookup", language="en")}"' in html
    assert "Register a new NemKonto at the recipient's request" in html


def test_home_of_a_payments_caseworker_has_no_look_up(logged_in, payments_caseworker):
    html = logged_in(payments_caseworker).get(url("home", language="en")).content.decode()
    assert "NKS-Søg-Bet" in html
    assert "Stop pending payments" in html
    assert url("lookup", language="en") not in html  # neither the card nor the menu item
    assert "Look up a recipient" not in html


def test_home_of_a_caseworker_without_profiles_says_whom_to_ask(logged_in, caseworker):
    html = logged_in(caseworker).get(url("home", language="en")).content.decode()
    assert "You have no role profiles yet." in html
    assert url("lookup", language="en") not in html


def test_the_menu_shows_recipients_only_with_a_registry_profile(
    logged_in, nemkonto_caseworker, payments_caseworker
):
    lookup = f'href="{url("lookup")}"'
    assert lookup in logged_in(nemkonto_caseworker).get(url("home")).content.decode()
    assert lookup not in logged_in(payments_caseworker).get(url("home")).content.decode()


def test_home_is_not_there_for_citizens_and_asks_others_to_log_in(client, citizen):
    response = client.get(url("home"))
    assert response.status_code == 302
    assert "/log-ind/" in response["Location"]
    client.force_login(citizen)
    assert client.get(url("home")).status_code == 404


def test_the_caseworker_pages_are_danish_by_default(logged_in, full_caseworker, person):
    client = logged_in(full_caseworker)
    home = client.get(url("home")).content.decode()
    assert '<html lang="da">' in home
    assert "Dine rolleprofiler og LOS-enheder" in home
    lookup = client.get(url("lookup")).content.decode()
    assert "Slå en modtager op" in lookup
    assert "Formål med opslaget" in lookup
