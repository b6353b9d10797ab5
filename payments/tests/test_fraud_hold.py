"""Fraud holds (issue 8, acceptance 4): a risky NemKonto change is held for an operator, the
recipient is told on the new and the old channel, and payments to them wait until the operator
decides; then the next cycle forwards them to the account in force."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from payments import pipeline
from payments.models import Payment
from payments.tests.pipeline_world import CPR_WITH_NEMKONTO, CPR_WITH_SPECIFIC, payment
from payments.tests.test_pipeline_stages import FRIDAY_CYCLE, submit
from registry.models import NemKonto, Notice
from registry.services import nemkonto_review, nemkonto_set

pytestmark = pytest.mark.django_db

NEW_ACCOUNT = {"reg": "3001", "number": "0004444444"}


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)
    monkeypatch.setattr("registry.tasks.notices_send.delay", lambda ids: None)


@pytest.fixture(autouse=True)
def bank_dir(settings, tmp_path):
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"


def test_a_change_before_a_large_payment_is_held_and_the_payment_waits(world, client, operator):
    batch = submit(
        world,
        client,
        [
            payment("LARGE", CPR_WITH_NEMKONTO, amount="75000.00"),
            payment("OTHER", CPR_WITH_SPECIFIC, amount="100.00"),
        ],
    )
    pipeline.batch_process(str(batch.pk))
    citizen = UserFactory.create(
        kind=User.Kind.CITIZEN,
        recipient_type="CPR",
        recipient_id=CPR_WITH_NEMKONTO,
        email="borger@example.org",
    )

    change = nemkonto_set(actor=citizen, account=NEW_ACCOUNT)

    held = change.version
    assert held.state == NemKonto.State.HELD
    assert held.hold_reasons == [NemKonto.HoldReason.LARGE_PAYMENT_PENDING]
    # Told on the new channel (the login's e-mail) and on the old one (the old account's bank).
    notices = Notice.objects.filter(recipient=held.recipient, kind=Notice.Kind.NEMKONTO_HELD)
    assert sorted(n.channel for n in notices) == [Notice.Channel.EMAIL, Notice.Channel.OLD_ACCOUNT]
    old = notices.get(channel=Notice.Channel.OLD_ACCOUNT)
    assert old.to_address == "reg.nr. 3000"
    assert "****4444" in old.body  # the account asked for
    assert "****4567" in old.body  # the account in force
    # The operator sees it, with the reason.
    client.force_login(operator)
    page = client.get(reverse("admin:registry_nemkonto_changelist"), {"state": "held_for_review"})
    assert "****4444" in page.content.decode()
    assert str(NemKonto.HoldReason.LARGE_PAYMENT_PENDING.label) in page.content.decode()

    # The cycle leaves the held recipient's payment; the other one goes.
    first = pipeline.cycle_run(at=FRIDAY_CYCLE)
    large = Payment.objects.get(reference="LARGE")
    assert (large.status, large.bank_file_id) == ("completed", None)
    assert Payment.objects.get(reference="OTHER").bank_file_id in first.file_ids

    nemkonto_review(actor=operator, version=held, approve=True)
    monday = pipeline.cycle_run(at=FRIDAY_CYCLE + datetime.timedelta(days=3))
    large.refresh_from_db()
    assert large.status == "forwarded"
    assert large.bank_file_id in monday.file_ids
    assert large.nemkonto_id == held.pk  # to the account the operator let through


def test_a_rejected_change_lets_the_payment_go_to_the_old_account(world, client, operator):
    batch = submit(world, client, [payment("LARGE", CPR_WITH_NEMKONTO, amount="75000.00")])
    pipeline.batch_process(str(batch.pk))
    before = Payment.objects.get(reference="LARGE").nemkonto_id
    citizen = UserFactory.create(
        kind=User.Kind.CITIZEN, recipient_type="CPR", recipient_id=CPR_WITH_NEMKONTO
    )
    held = nemkonto_set(actor=citizen, account=NEW_ACCOUNT).version

    nemkonto_review(actor=operator, version=held, approve=False)
    cycle = pipeline.cycle_run(at=FRIDAY_CYCLE)

    large = Payment.objects.get(reference="LARGE")
    assert large.bank_file_id in cycle.file_ids
    assert large.nemkonto_id == before


def test_ordinary_changes_are_not_held(world):
    citizen = UserFactory.create(
        kind=User.Kind.CITIZEN, recipient_type="CPR", recipient_id=CPR_WITH_NEMKONTO
    )
    assert nemkonto_set(actor=citizen, account=NEW_ACCOUNT).version.state == "active"


def test_a_large_test_payment_does_not_hold_a_change(world, client):
    # A payment system in test sends made-up amounts to real IDs; it moves no money.
    batch = submit(world, client, [payment("LARGE", CPR_WITH_NEMKONTO, amount="75000.00")])
    pipeline.batch_process(str(batch.pk))
    Payment.objects.filter(batch=batch).update(is_test=True)
    citizen = UserFactory.create(
        kind=User.Kind.CITIZEN, recipient_type="CPR", recipient_id=CPR_WITH_NEMKONTO
    )

    assert nemkonto_set(actor=citizen, account=NEW_ACCOUNT).version.state == "active"
