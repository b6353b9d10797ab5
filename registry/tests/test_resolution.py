"""account_resolve: the specific account wins over the NemKonto, and the answer says why."""

import datetime

import pytest
from django.utils import timezone, translation

from payments.models import Benefit
from registry.selectors import account_resolve
from registry.services import (
    nemkonto_delete,
    nemkonto_set,
    specific_account_create,
    specific_account_delete,
)
from registry.tests.conftest import CITIZEN_CPR, DANISH, DANISH_2

pytestmark = pytest.mark.django_db


@pytest.fixture
def nemkonto(citizen_in_register):
    return nemkonto_set(actor=citizen_in_register, account=DANISH).version


@pytest.fixture
def specific(sa_caseworker, person, benefit):
    return specific_account_create(
        actor=sa_caseworker,
        id_type="CPR",
        id_number=CITIZEN_CPR,
        benefit_code=benefit.code,
        account=DANISH_2,
    )


def test_specific_account_wins_and_says_why(person, benefit, nemkonto, specific):
    # The reason is for the look-up API, which answers in English unless asked for Danish.
    with translation.override("en"):
        resolution = account_resolve(recipient=person, authority=benefit.authority, benefit=benefit)
    assert resolution.kind == "specific"
    assert resolution.version_id == specific.pk
    assert resolution.account is not None
    assert resolution.account.number == "0007654321"
    assert resolution.reason_code == "specific_account"
    assert "takes precedence over the NemKonto" in resolution.reason


def test_other_benefits_and_authorities_get_the_nemkonto(
    person, benefit, nemkonto, specific, other_benefit
):
    other_same_authority = Benefit.objects.create(
        authority=benefit.authority, code="BO", name="Boligstøtte"
    )
    for kwargs in (
        {"benefit": other_same_authority},
        {"benefit": other_benefit},
        {"authority": benefit.authority},
        {},
    ):
        resolution = account_resolve(recipient=person, **kwargs)
        assert resolution.kind == "nemkonto", kwargs
        assert resolution.version_id == nemkonto.pk
        assert resolution.reason_code == "nemkonto"


def test_specific_account_without_nemkonto(person, benefit, specific):
    assert account_resolve(recipient=person, benefit=benefit).kind == "specific"
    none = account_resolve(recipient=person)
    assert (none.kind, none.reason_code, none.account) == ("none", "no_nemkonto", None)


def test_resolution_at_a_past_moment_uses_the_versions_then(
    person, benefit, nemkonto, specific, sa_caseworker, citizen_in_register
):
    while_specific = timezone.now()
    specific_account_delete(actor=sa_caseworker, specific_account=specific)
    assert account_resolve(recipient=person, benefit=benefit).kind == "nemkonto"
    past = account_resolve(recipient=person, benefit=benefit, at=while_specific)
    assert (past.kind, past.version_id) == ("specific", specific.pk)

    before_all = nemkonto.created_at - datetime.timedelta(seconds=1)
    assert account_resolve(recipient=person, benefit=benefit, at=before_all).kind == "none"

    nemkonto_delete(actor=citizen_in_register)
    deleted = account_resolve(recipient=person, benefit=benefit)
    assert (deleted.kind, deleted.reason_code) == ("none", "nemkonto_deleted")
