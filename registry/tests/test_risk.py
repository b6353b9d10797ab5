"""Which NemKonto changes are held for review (registry/services/risk.py): several changes in a
short time, one account suddenly given by many recipients, a foreign account. (A change right
before a large payment: payments/tests/test_fraud_hold.py, with the payment pipeline.)"""

import datetime

import pgtrigger
import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import CitizenFactory
from registry.models import NemKonto
from registry.services import nemkonto_set
from registry.tests.conftest import FOREIGN, make_recipient

pytestmark = pytest.mark.django_db

SHARED = {"reg": "3000", "number": "0007777777"}


def citizen_with_register_entry(n: int) -> User:
    number = f"1{n:01d}0190{n:04d}"
    make_recipient("CPR", number, f"Borger {n}")
    return CitizenFactory.create(username=f"borger-{n}", recipient_id=number)


def test_the_fourth_change_within_a_week_is_held(settings, citizen_in_register):
    settings.NEMKONTO_RISK_MAX_CHANGES = 4
    states = [
        nemkonto_set(
            actor=citizen_in_register, account={"reg": "3000", "number": f"000111111{n}"}
        ).version
        for n in range(4)
    ]
    assert [v.state for v in states] == ["active", "active", "active", "held_for_review"]
    assert states[-1].hold_reasons == ["frequent_changes"]
    # The current account stays in force while the change waits.
    assert NemKonto.objects.get(recipient=states[0].recipient, state="active") == states[2]


def test_changes_outside_the_window_do_not_count(settings, citizen_in_register):
    settings.NEMKONTO_RISK_MAX_CHANGES = 2
    first = nemkonto_set(actor=citizen_in_register, account=SHARED).version
    with pgtrigger.ignore("registry.NemKonto:nemkonto_fixed_fields"):  # a month ago
        NemKonto.objects.filter(pk=first.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=30)
        )
    second = nemkonto_set(actor=citizen_in_register, account={"reg": "3000", "number": "12"})
    assert second.version.state == "active"


def test_an_account_given_by_many_recipients_at_once_is_held(settings):
    settings.NEMKONTO_RISK_SHARED_RECIPIENTS = 3
    versions = [
        nemkonto_set(actor=citizen_with_register_entry(n), account=SHARED).version
        for n in range(1, 6)
    ]
    assert [v.state for v in versions] == [
        "active",
        "active",
        "active",
        "held_for_review",
        "held_for_review",
    ]
    assert versions[3].hold_reasons == ["shared_account"]


def test_a_foreign_account_is_held(citizen_in_register):
    version = nemkonto_set(actor=citizen_in_register, account=FOREIGN).version
    assert (version.state, version.hold_reasons) == ("held_for_review", ["foreign_account"])
