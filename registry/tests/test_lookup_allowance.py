"""Abuse limits on look-ups (issue 8, acceptance 3): a client probing for CPR numbers that do not
exist is refused with 429 and Retry-After long before its 100th try, with nothing looked up or
logged once refused; a caseworker's ordinary pace is never refused."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from nemkonto.errors import PermissionDenied, TooManyRequests
from registry.identifiers import IdentifierError, parse_recipient_id
from registry.models import LookupAllowance, LookupLog
from registry.services.allowance import (
    lookup_allowance_penalise,
    lookup_allowance_take,
    lookup_allowances_reset,
)
from registry.tests.conftest import CITIZEN_CPR

pytestmark = pytest.mark.django_db


def unknown_cprs(count: int) -> list[str]:
    """Well-formed CPR numbers that nobody in the test register has."""
    numbers = []
    for serial in range(1000, 9999):
        number = f"1503{serial % 100:02d}{serial:04d}"
        try:
            parse_recipient_id("CPR", number)
        except IdentifierError:
            continue
        if number != CITIZEN_CPR:
            numbers.append(number)
        if len(numbers) == count:
            return numbers
    raise AssertionError("not enough well-formed numbers")


def test_a_client_probing_unknown_cprs_is_refused_long_before_the_100th(api, resolve_client):
    answers = []
    for number in unknown_cprs(100):
        url = reverse("registry-recipient-account", args=["CPR", number])
        answers.append(api.get(url, {"purpose": "probe"}, headers=resolve_client.headers))
    statuses = [answer.status_code for answer in answers]
    first_refusal = statuses.index(429)
    assert first_refusal <= 10, statuses
    assert set(statuses[:first_refusal]) == {404}
    assert set(statuses[first_refusal:]) == {429}
    refused = answers[first_refusal]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert int(refused["Retry-After"]) > 0
    # Refused look-ups were not made: only the ones answered 404 are in the look-up log.
    assert LookupLog.objects.count() == first_refusal
    allowance = LookupAllowance.objects.get()
    assert (allowance.misses, allowance.refused) == (first_refusal, 100 - first_refusal)


def test_a_client_is_answered_again_after_retry_after(settings, resolve_client):
    client = resolve_client.api_client
    start = timezone.now()
    for _ in range(settings.NEMKONTO_LOOKUP_ALLOWANCE):
        lookup_allowance_take(caller=client, now=start)
    with pytest.raises(TooManyRequests) as refused:
        lookup_allowance_take(caller=client, now=start)
    later = start + datetime.timedelta(seconds=refused.value.retry_after)
    lookup_allowance_take(caller=client, now=later)  # does not raise


def test_a_caseworkers_working_day_is_never_refused(sa_caseworker):
    """Eight hours of one look-up every 10 seconds, one in ten of a mistyped (unknown) number."""
    now = timezone.now()
    for step in range(8 * 360):
        lookup_allowance_take(caller=sa_caseworker, now=now)
        if step % 10 == 0:
            lookup_allowance_penalise(caller=sa_caseworker, now=now)
        now += datetime.timedelta(seconds=10)
    allowance = LookupAllowance.objects.get()
    assert allowance.refused == 0
    assert allowance.misses == 288


def test_a_burst_of_known_lookups_through_the_api_is_not_refused(login, sa_caseworker, person):
    api = login(sa_caseworker)
    url = reverse("registry-caseworker-specific-accounts")
    for _ in range(30):
        answer = api.get(url, {"type": "CPR", "id": CITIZEN_CPR, "purpose": "case 17"})
        assert answer.status_code == 200, answer.content
    assert LookupLog.objects.count() == 30


def test_a_caseworker_probing_unknown_numbers_is_refused(login, sa_caseworker):
    api = login(sa_caseworker)
    url = reverse("registry-caseworker-specific-accounts")
    statuses = [
        api.get(url, {"type": "CPR", "id": number, "purpose": "probe"}).status_code
        for number in unknown_cprs(20)
    ]
    assert statuses.index(429) <= 10, statuses
    assert statuses[-1] == 429


def test_the_operator_sees_the_limits_and_gives_an_allowance_back(client, operator, resolve_client):
    for _ in range(5):
        lookup_allowance_take(caller=resolve_client.api_client)
        lookup_allowance_penalise(caller=resolve_client.api_client)
    allowance = LookupAllowance.objects.get()
    client.force_login(operator)
    page = client.get(reverse("admin:registry_lookupallowance_changelist"))
    assert page.status_code == 200
    assert allowance.label in page.content.decode()
    answer = client.post(
        reverse("admin:registry_lookupallowance_changelist"),
        {"action": "reset", "_selected_action": [allowance.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    assert not LookupAllowance.objects.exists()
    assert AuditEvent.objects.filter(action="lookup_allowance.reset").count() == 1
    lookup_allowance_take(caller=resolve_client.api_client)  # full allowance again


def test_only_operators_reset_allowances(sa_caseworker, resolve_client):
    lookup_allowance_take(caller=resolve_client.api_client)
    with pytest.raises(PermissionDenied):
        lookup_allowances_reset(actor=sa_caseworker, keys=[LookupAllowance.objects.get().key])
    assert LookupAllowance.objects.count() == 1
