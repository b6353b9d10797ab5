"""Looking a recipient up on the caseworker pages: a stated purpose is required, every look-up
of a person is logged (and only a look-up that was made), and the recipient's page shows what
the caseworker's functions allow."""

import pytest
from django.utils import timezone

from portal.tests.caseworker_fixtures import *  # noqa: F403
from portal.tests.caseworker_fixtures import PURPOSE, error_fields, log_rows, look_up, url
from registry.models import LookupLog, NemKonto, SpecificAccount
from registry.services import cpr_hash

pytestmark = pytest.mark.django_db


def test_a_look_up_is_logged_with_its_purpose_and_opens_the_recipients_page(
    logged_in, nemkonto_caseworker, person
):
    client = logged_in(nemkonto_caseworker)
    response = look_up(client, person, number="010190-1234")
    assert response.status_code == 302
    assert response["Location"] == url("recipient", person.pk)
    row = LookupLog.objects.get()
    assert row.channel == LookupLog.Channel.PORTAL
    assert row.actor == nemkonto_caseworker
    assert row.authority == nemkonto_caseworker.authority
    assert row.purpose == PURPOSE
    assert row.result == LookupLog.Result.FOUND
    assert row.id_hash == cpr_hash(person.id_number)

    html = client.get(url("recipient", person.pk, language="en")).content.decode()
    assert "Borger Testesen" in html
    assert "CPR number 010190-1234" in html
    assert PURPOSE in html


def test_the_purpose_is_required_and_nothing_is_logged_without_it(
    logged_in, nemkonto_caseworker, person
):
    client = logged_in(nemkonto_caseworker)
    response = look_up(client, person, purpose="   ")
    assert response.status_code == 200
    assert error_fields(response) == {"purpose"}
    assert log_rows() == 0
    english = client.post(
        url("lookup", language="en"),
        {"id_type": "CPR", "id_number": person.id_number, "purpose": ""},
    ).content.decode()
    assert "There is a problem" in english
    assert "Say why you look the recipient up (purpose): every look-up is logged." in english


def test_an_invalid_cpr_number_is_a_form_error_and_is_not_logged(
    logged_in, nemkonto_caseworker, person
):
    client = logged_in(nemkonto_caseworker)
    response = look_up(client, person, number="3213901234")  # no 32nd of a month
    assert response.status_code == 200
    assert error_fields(response) == {"id_number"}
    assert log_rows() == 0
    assert client.session.get("caseworker_looked_up") is None


def test_a_cpr_number_not_in_the_register_is_logged_and_said(logged_in, nemkonto_caseworker):
    client = logged_in(nemkonto_caseworker)
    response = client.post(
        url("lookup", language="en"),
        {"id_type": "CPR", "id_number": "0202021234", "purpose": PURPOSE},
    )
    assert response.status_code == 200
    assert error_fields(response) == {"id_number"}
    assert "The ID is not in the CPR/CVR register." in response.content.decode()
    assert LookupLog.objects.get().result == LookupLog.Result.NOT_FOUND


def test_businesses_are_looked_up_by_cvr_and_only_people_are_logged(
    logged_in, nemkonto_caseworker, business
):
    client = logged_in(nemkonto_caseworker)
    response = look_up(client, business)
    assert response["Location"] == url("recipient", business.pk)
    assert log_rows() == 0  # the look-up log is for persons (CPR numbers)


def test_without_a_registry_profile_the_look_up_is_not_there(
    logged_in, payments_caseworker, person
):
    client = logged_in(payments_caseworker)
    assert client.get(url("lookup")).status_code == 404
    assert look_up(client, person).status_code == 404
    assert log_rows() == 0


def test_a_recipient_page_opens_only_after_a_look_up_in_the_session(
    logged_in, nemkonto_caseworker, person
):
    client = logged_in(nemkonto_caseworker)
    assert client.get(url("recipient", person.pk)).status_code == 404
    look_up(client, person)
    assert client.get(url("recipient", person.pk)).status_code == 200
    client.logout()
    client.force_login(nemkonto_caseworker)
    assert client.get(url("recipient", person.pk)).status_code == 404


def test_the_nemkonto_caseworker_sees_the_nemkonto_and_no_specific_accounts(
    logged_in, nemkonto_caseworker, person
):
    _nemkonto(person, "3000", "0001234567")
    client = logged_in(nemkonto_caseworker)
    look_up(client, person)
    html = client.get(url("recipient", person.pk, language="en")).content.decode()
    assert "The NemKonto is ****4567" in html
    assert url("nemkonto_change", person.pk, language="en") in html
    assert "Specific accounts with" not in html
    assert url("specific_create", person.pk, language="en") not in html


def test_the_specific_accounts_caseworker_sees_the_authoritys_accounts_and_not_the_nemkonto(
    logged_in, specific_caseworker, person, benefit, other_authority
):
    _nemkonto(person, "3000", "0001234567")
    _specific(person, benefit, "3000", "0007654321")
    other = benefit.__class__.objects.create(authority=other_authority, code="SU", name="SU")
    _specific(person, other, "3000", "0009999999")
    client = logged_in(specific_caseworker)
    look_up(client, person)
    html = client.get(url("recipient", person.pk, language="en")).content.decode()
    assert "Specific accounts with Testkøbing Kommune" in html
    assert "3000-0007654321" in html
    assert "0009999999" not in html  # another authority's account
    assert "****4567" not in html
    assert url("nemkonto_change", person.pk, language="en") not in html
    assert url("specific_change", person.pk, "KP", language="en") in html


def test_the_session_list_links_back_to_the_recipients_looked_up(
    logged_in, full_caseworker, person, business
):
    client = logged_in(full_caseworker)
    look_up(client, person)
    look_up(client, business)
    html = client.get(url("lookup", language="en")).content.decode()
    assert "Looked up in this session" in html
    assert html.index("Firma ApS") < html.index("Borger Testesen")  # most recent first
    assert url("recipient", person.pk, language="en") in html


def _nemkonto(person, reg: str, number: str) -> NemKonto:
    now = timezone.now()
    return NemKonto.objects.create(
        recipient=person,
        state=NemKonto.State.ACTIVE,
        channel="bank",
        actor_label="bank 3000",
        created_at=now,
        activated_at=now,
        account_kind="danish",
        reg=reg,
        number=number,
    )


def _specific(person, benefit, reg: str, number: str) -> SpecificAccount:
    return SpecificAccount.objects.create(
        recipient=person,
        authority=benefit.authority,
        benefit=benefit,
        state=SpecificAccount.State.ACTIVE,
        channel="caseworker",
        actor_label="sagsbehandler",
        account_kind="danish",
        reg=reg,
        number=number,
    )


def test_too_many_look_ups_are_refused_on_the_form_and_not_logged(
    settings, logged_in, nemkonto_caseworker, person
):
    settings.NEMKONTO_LOOKUP_ALLOWANCE = 1
    settings.NEMKONTO_LOOKUP_REFILL_PER_MINUTE = 1
    client = logged_in(nemkonto_caseworker)
    assert look_up(client, person).status_code == 302
    response = client.post(
        url("lookup", language="en"),
        {"id_type": "CPR", "id_number": person.id_number, "purpose": PURPOSE},
    )
    assert response.status_code == 200
    assert error_fields(response) == {"__all__"}
    assert "Too many look-ups in a short time" in response.content.decode()
    assert log_rows() == 1
