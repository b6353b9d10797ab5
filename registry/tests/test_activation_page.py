"""The portal page "activate with code" (DOMAIN.md section 4): the same rules as the phone menu."""

import pytest
from django.urls import reverse

from registry.models import NemKonto
from registry.services import nemkonto_change_by_caseworker
from registry.tests.conftest import CITIZEN_CPR, CODE, DANISH_2

pytestmark = pytest.mark.django_db
URL = reverse("portal:activate")


def _pending(caseworker) -> NemKonto:
    return nemkonto_change_by_caseworker(
        actor=caseworker, id_type="CPR", id_number=CITIZEN_CPR, account=DANISH_2
    ).version


def test_anonymous_visitors_are_sent_to_the_login(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_citizen_activates_the_change_with_the_code(client, nk_caseworker, citizen_in_register):
    pending = _pending(nk_caseworker)
    client.force_login(citizen_in_register)
    assert "Aktivér med kode" in client.get(URL).content.decode()
    response = client.post(URL, {"code": CODE}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    assert "er nu i kraft" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.ACTIVE


def test_a_wrong_code_is_a_form_error_and_counts(client, nk_caseworker, citizen_in_register):
    pending = _pending(nk_caseworker)
    client.force_login(citizen_in_register)
    response = client.post(URL, {"code": "00000000"})
    assert response.status_code == 200
    assert "Aktiveringskoden er forkert" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.PENDING
    assert pending.activation_letter.attempts == 1


def test_a_caseworker_login_cannot_activate(client, nk_caseworker, citizen_in_register) -> None:
    pending = _pending(nk_caseworker)
    client.force_login(nk_caseworker)
    response = client.post(URL, {"code": CODE})
    assert response.status_code == 200
    assert "Der er et problem" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == NemKonto.State.PENDING
