"""Specific accounts (DOMAIN.md section 5): created only by the paying authority's caseworker,
optionally locked and time-limited; citizens change or delete unlocked ones; businesses cannot;
nobody but the authority touches a locked one; expired ones are removed with history kept."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from nemkonto.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from registry.models import Channel, Notice, SpecificAccount
from registry.selectors import account_resolve, specific_account_history
from registry.services import (
    specific_account_create,
    specific_account_delete,
    specific_account_update,
    specific_accounts_expire,
)
from registry.tests.conftest import CITIZEN_CPR, DANISH, DANISH_2, FOREIGN

pytestmark = pytest.mark.django_db
State = SpecificAccount.State


def create(actor, benefit_code="KP", id_type="CPR", id_number=CITIZEN_CPR, **fields):
    return specific_account_create(
        actor=actor,
        id_type=id_type,
        id_number=id_number,
        benefit_code=benefit_code,
        account=fields.pop("account", DANISH),
        **fields,
    )


def counts() -> tuple[int, int, int]:
    return SpecificAccount.objects.count(), Notice.objects.count(), AuditEvent.objects.count()


def test_caseworker_creates_a_specific_account(sa_caseworker, person, benefit):
    version = create(sa_caseworker, locked=True)
    assert version.state == State.ACTIVE
    assert version.locked
    assert (version.authority, version.benefit) == (benefit.authority, benefit)
    assert version.channel == Channel.CASEWORKER
    assert version.actor == sa_caseworker
    assert AuditEvent.objects.filter(action="specific_account.create").count() == 1
    assert Notice.objects.filter(kind=Notice.Kind.SPECIFIC_CHANGED).count() == 1


@pytest.mark.parametrize(
    "who", ["citizen_in_register", "caseworker", "nk_caseworker", "operator", "business"]
)
def test_only_the_authoritys_caseworker_with_the_profile_creates(request, person, benefit, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        create(user)
    assert counts() == (0, 0, 0)


def test_another_authority_cannot_create_for_this_authoritys_benefit(outsider, person, benefit):
    with pytest.raises(NotFound) as refused:
        create(outsider)
    assert refused.value.field == "benefit"
    assert counts() == (0, 0, 0)


def test_one_live_specific_account_per_recipient_and_benefit(sa_caseworker, person, benefit):
    create(sa_caseworker)
    with pytest.raises(Conflict):
        create(sa_caseworker, account=DANISH_2)
    assert SpecificAccount.objects.count() == 1


def test_end_date_in_the_past_is_refused(sa_caseworker, person, benefit):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(ValidationFailed) as refused:
        create(sa_caseworker, end_date=yesterday)
    assert refused.value.field == "end_date"
    assert counts() == (0, 0, 0)


def test_not_in_register_and_bad_account_are_refused(sa_caseworker, person, benefit):
    with pytest.raises(NotFound):
        create(sa_caseworker, id_number="0101991234")
    with pytest.raises(ValidationFailed) as refused:
        create(sa_caseworker, account={"iban": "DE00370400440532013000", "bic": "COBADEFFXXX"})
    assert refused.value.field == "account.iban"
    assert counts() == (0, 0, 0)


def test_citizen_changes_and_deletes_an_unlocked_one(
    sa_caseworker, person, benefit, citizen_in_register
):
    first = create(sa_caseworker)
    second = specific_account_update(
        actor=citizen_in_register, specific_account=first, account=FOREIGN
    )
    first.refresh_from_db()
    assert first.state == State.ENDED
    assert first.end_reason == SpecificAccount.EndReason.REPLACED
    assert second.channel == Channel.CITIZEN
    assert second.iban == "DE89370400440532013000"
    ended = specific_account_delete(actor=citizen_in_register, specific_account=second)
    assert ended.end_reason == SpecificAccount.EndReason.DELETED
    assert list(specific_account_history(recipient=person, benefit=benefit)) == [second, first]


def test_citizen_cannot_touch_a_locked_one(sa_caseworker, person, benefit, citizen_in_register):
    locked = create(sa_caseworker, locked=True)
    before = counts()
    with pytest.raises(PermissionDenied) as refused:
        specific_account_update(
            actor=citizen_in_register, specific_account=locked, account=DANISH_2
        )
    assert refused.value.code == "locked"
    with pytest.raises(PermissionDenied):
        specific_account_delete(actor=citizen_in_register, specific_account=locked)
    assert counts() == before


def test_citizen_cannot_lock_or_set_end_dates(sa_caseworker, person, benefit, citizen_in_register):
    version = create(sa_caseworker)
    with pytest.raises(PermissionDenied):
        specific_account_update(actor=citizen_in_register, specific_account=version, locked=True)
    with pytest.raises(PermissionDenied):
        specific_account_update(
            actor=citizen_in_register,
            specific_account=version,
            end_date=timezone.localdate() + datetime.timedelta(days=3),
        )
    assert SpecificAccount.objects.count() == 1


def test_another_citizen_cannot_touch_it(
    sa_caseworker, person, other_person, benefit, another_citizen
):
    version = create(sa_caseworker)
    with pytest.raises(PermissionDenied):
        specific_account_delete(actor=another_citizen, specific_account=version)
    assert SpecificAccount.objects.get().state == State.ACTIVE


def test_business_cannot_change_theirs(sa_caseworker, company, benefit, business):
    version = create(sa_caseworker, id_type="CVR", id_number=company.id_number)
    with pytest.raises(PermissionDenied) as refused:
        specific_account_update(actor=business, specific_account=version, account=DANISH_2)
    assert refused.value.code == "business_read_only"
    with pytest.raises(PermissionDenied):
        specific_account_delete(actor=business, specific_account=version)
    assert SpecificAccount.objects.get().state == State.ACTIVE


def test_authority_changes_a_locked_one_and_unlocks_it(sa_caseworker, person, benefit):
    locked = create(sa_caseworker, locked=True)
    unlocked = specific_account_update(
        actor=sa_caseworker, specific_account=locked, account=DANISH_2, locked=False
    )
    assert not unlocked.locked
    assert unlocked.reg == "3001"
    specific_account_delete(actor=sa_caseworker, specific_account=unlocked)
    assert not SpecificAccount.objects.filter(state=State.ACTIVE).exists()


def test_other_authoritys_caseworker_cannot_touch_it(sa_caseworker, outsider, person, benefit):
    version = create(sa_caseworker)
    with pytest.raises(PermissionDenied):
        specific_account_update(actor=outsider, specific_account=version, account=DANISH_2)
    with pytest.raises(PermissionDenied):
        specific_account_delete(actor=outsider, specific_account=version)


def test_stale_version_is_a_conflict(sa_caseworker, person, benefit):
    first = create(sa_caseworker)
    specific_account_update(actor=sa_caseworker, specific_account=first, account=DANISH_2)
    with pytest.raises(Conflict):
        specific_account_delete(actor=sa_caseworker, specific_account=first)


def test_time_limited_account_applies_to_its_end_date_then_expires(
    sa_caseworker, person, benefit, citizen_in_register
):
    from registry.services import nemkonto_set

    nemkonto_set(actor=citizen_in_register, account=DANISH_2)
    today = timezone.localdate()
    week = create(sa_caseworker, end_date=today + datetime.timedelta(days=7))
    assert account_resolve(recipient=person, benefit=benefit).kind == "specific"

    last_day = timezone.now() + datetime.timedelta(days=7)
    after = timezone.now() + datetime.timedelta(days=8)
    assert account_resolve(recipient=person, benefit=benefit, at=last_day).kind == "specific"
    # Past its end date it no longer applies, even before the periodic job has run.
    assert account_resolve(recipient=person, benefit=benefit, at=after).kind == "nemkonto"

    assert specific_accounts_expire(today=today + datetime.timedelta(days=7)) == 0
    assert specific_accounts_expire(today=today + datetime.timedelta(days=8)) == 1
    week.refresh_from_db()
    assert week.state == State.ENDED
    assert week.end_reason == SpecificAccount.EndReason.EXPIRED
    assert week.ended_channel == Channel.SYSTEM
    assert AuditEvent.objects.filter(action="specific_account.expire").count() == 1
    assert Notice.objects.filter(kind=Notice.Kind.SPECIFIC_DELETED).count() == 1
    assert specific_accounts_expire(today=today + datetime.timedelta(days=9)) == 0
