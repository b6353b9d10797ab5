"""Specific accounts on the caseworker pages: create, change and delete the authority's own
(account, lock, end date); bad input writes nothing; only with the specific-accounts profile."""

import datetime

import pytest
from django.utils import timezone

from portal.tests.caseworker_fixtures import *  # noqa: F403
from portal.tests.caseworker_fixtures import error_fields, look_up, url
from registry.models import Notice, SpecificAccount

pytestmark = pytest.mark.django_db

ACCOUNT = {"kind": "danish", "reg": "3000", "number": "7654321", "iban": "", "bic": ""}


@pytest.fixture
def client_at_recipient(logged_in, specific_caseworker, person):
    """The specific-accounts caseworker's client, with ``person`` looked up."""
    client = logged_in(specific_caseworker)
    look_up(client, person)
    return client


def live() -> list[SpecificAccount]:
    return list(SpecificAccount.objects.filter(state=SpecificAccount.State.ACTIVE))


def in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def test_a_locked_time_limited_account_is_created_for_a_benefit(
    client_at_recipient, person, benefit, other_benefit, specific_caseworker
):
    form = client_at_recipient.get(url("specific_create", person.pk, language="en"))
    assert "Kapitalpension (KP)" in form.content.decode()
    response = client_at_recipient.post(
        url("specific_create", person.pk, language="en"),
        {**ACCOUNT, "benefit": "KP", "locked": "on", "end_date": in_days(30)},
    )
    assert response.status_code == 302
    assert response["Location"] == url("recipient", person.pk, language="en")
    [account] = live()
    assert account.benefit == benefit
    assert account.actor == specific_caseworker
    assert (account.reg, account.number) == ("3000", "0007654321")
    assert account.locked
    assert account.end_date == timezone.localdate() + datetime.timedelta(days=30)
    assert Notice.objects.get(recipient=person).kind == Notice.Kind.SPECIFIC_CHANGED

    page = client_at_recipient.get(url("recipient", person.pk, language="en")).content.decode()
    assert "The specific account for Kapitalpension is created." in page
    assert "3000-0007654321" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**ACCOUNT, "benefit": ""}, "benefit"),
        ({**ACCOUNT, "benefit": "XX"}, "benefit"),
        ({**ACCOUNT, "benefit": "KP", "number": "12345678901"}, "number"),
        ({**ACCOUNT, "benefit": "KP", "end_date": "31.02.2026"}, "end_date"),
        ({**ACCOUNT, "benefit": "KP", "end_date": in_days(-1)}, "end_date"),
    ],
    ids=["no benefit", "unknown benefit", "long account", "no such date", "past end date"],
)
def test_bad_input_is_shown_on_its_field_and_creates_nothing(
    client_at_recipient, person, benefit, data, field
):
    response = client_at_recipient.post(url("specific_create", person.pk), data)
    assert response.status_code == 200
    assert error_fields(response) == {field}
    assert live() == []


def test_a_second_account_for_the_same_benefit_is_refused(client_at_recipient, person, benefit):
    client_at_recipient.post(url("specific_create", person.pk), {**ACCOUNT, "benefit": "KP"})
    response = client_at_recipient.post(
        url("specific_create", person.pk, language="en"),
        {**ACCOUNT, "benefit": "KP", "number": "1111111"},
    )
    assert error_fields(response) == {"benefit"}
    assert "change it instead" in response.content.decode()
    assert len(live()) == 1


def test_a_change_replaces_the_version_and_an_unchanged_form_writes_nothing(
    client_at_recipient, person, benefit
):
    client_at_recipient.post(
        url("specific_create", person.pk), {**ACCOUNT, "benefit": "KP", "locked": "on"}
    )
    [first] = live()
    form = client_at_recipient.get(url("specific_change", person.pk, "KP"))
    assert form.context["form"]["number"].value() == "0007654321"
    assert form.context["form"]["locked"].value() is True

    response = client_at_recipient.post(
        url("specific_change", person.pk, "KP"),
        {**ACCOUNT, "number": "1111111", "end_date": in_days(7)},  # unlocked now
    )
    assert response.status_code == 302
    [second] = live()
    assert second.pk != first.pk
    assert second.number == "0001111111"
    assert not second.locked
    assert second.end_date == timezone.localdate() + datetime.timedelta(days=7)

    same = client_at_recipient.post(
        url("specific_change", person.pk, "KP", language="en"),
        {**ACCOUNT, "number": "1111111", "end_date": in_days(7)},
        follow=True,
    )
    assert "Nothing was changed." in same.content.decode()
    assert live() == [second]


def test_a_bad_change_is_a_form_error_and_keeps_the_account(client_at_recipient, person, benefit):
    client_at_recipient.post(url("specific_create", person.pk), {**ACCOUNT, "benefit": "KP"})
    [before] = live()
    response = client_at_recipient.post(
        url("specific_change", person.pk, "KP"), {**ACCOUNT, "reg": "abcd"}
    )
    assert error_fields(response) == {"reg"}
    assert live() == [before]


def test_delete_asks_first_then_ends_the_account(client_at_recipient, person, benefit):
    client_at_recipient.post(url("specific_create", person.pk), {**ACCOUNT, "benefit": "KP"})
    question = client_at_recipient.get(url("specific_delete", person.pk, "KP", language="en"))
    assert "the benefit is paid to the NemKonto again" in question.content.decode()
    assert len(live()) == 1
    response = client_at_recipient.post(url("specific_delete", person.pk, "KP"))
    assert response["Location"] == url("recipient", person.pk)
    assert live() == []
    ended = SpecificAccount.objects.get()
    assert ended.end_reason == SpecificAccount.EndReason.DELETED
    assert client_at_recipient.get(url("specific_change", person.pk, "KP")).status_code == 404


def test_without_the_specific_accounts_profile_the_pages_are_not_there(
    logged_in, nemkonto_caseworker, person, benefit
):
    client = logged_in(nemkonto_caseworker)
    look_up(client, person)
    assert client.get(url("specific_create", person.pk)).status_code == 404
    response = client.post(url("specific_create", person.pk), {**ACCOUNT, "benefit": "KP"})
    assert response.status_code == 404
    for name in ("specific_change", "specific_delete"):
        assert client.get(url(name, person.pk, "KP")).status_code == 404
    assert live() == []


def test_another_authoritys_account_cannot_be_opened(client_at_recipient, person, other_authority):
    other = other_authority.benefits.create(code="SU", name="Studiestøtte")
    SpecificAccount.objects.create(
        recipient=person,
        authority=other_authority,
        benefit=other,
        state=SpecificAccount.State.ACTIVE,
        channel="caseworker",
        actor_label="udefra",
        account_kind="danish",
        reg="3000",
        number="0009999999",
    )
    assert client_at_recipient.get(url("specific_change", person.pk, "SU")).status_code == 404
    assert client_at_recipient.post(url("specific_delete", person.pk, "SU")).status_code == 404
    assert len(live()) == 1
