"""Test mode, the test script and go-live (issue 10): an agreement in test sends test batches
through the whole API and pipeline, they never reach a real bank or a recipient, the test script
follows what the payment system has shown, go-live waits for it, and real payments before the
go-live date are refused."""

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from accounts.api_clients import api_client_create
from accounts.models import ApiClient
from nemkonto.errors import Conflict, ValidationFailed
from payments import pipeline, services
from payments import test_script as script
from payments.models import (
    BankAgreement,
    BankFile,
    Batch,
    ConnectionAgreement,
    Payment,
    PaymentSystem,
)
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITHOUT_ACCOUNT,
    World,
    build_world,
    payment,
)
from registry.models import NemKonto, Notice, Recipient

pytestmark = pytest.mark.django_db
Status = ConnectionAgreement.Status
BATCHES = "/api/v1/batches"
CSV_HEADER = "reference,recipient_type,recipient_id,benefit,amount,text,reg,number,iban,bic\r\n"


@pytest.fixture(autouse=True)
def bank_dir(settings: Any, tmp_path: Path) -> Path:
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"
    return Path(settings.NEMKONTO_BANK_DIR)


@pytest.fixture(autouse=True)
def no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run each stage themselves, as the worker's tasks would."""
    monkeypatch.setattr("payments.tasks.batch_process.delay", lambda batch_id: None)


def in_test(world: World) -> World:
    """The world's agreement put in test a day ago."""
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(
        status=Status.IN_TEST,
        activated_at=None,
        test_started_at=timezone.now() - datetime.timedelta(days=1),
    )
    world.agreement.refresh_from_db()
    return world


@pytest.fixture
def world(operator: Any) -> World:
    return in_test(build_world(operator=operator))


def bearer(world: World, client: Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token(client)}"}


def send_json(client: Client, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post(BATCHES, json.dumps(body), content_type="application/json", headers=headers)


def send_csv(client: Client, headers: dict[str, str], rows: str, **query: str) -> Any:
    params = "&".join(
        f"{k}={v}" for k, v in {"authority": "kbh", "los_unit": "YDELSE", **query}.items()
    )
    return client.post(
        f"{BATCHES}?bank_agreement=BA-1001&{params}",
        CSV_HEADER + rows,
        content_type="text/csv",
        headers=headers,
    )


def accepted_batch(response: Any) -> Batch:
    assert response.status_code == 202, response.content
    return Batch.objects.get(pk=response.json()["batch_id"])


def forward_and_answer(batch: Batch) -> list[int]:
    """The batch's cycle, its files written, and the answers waiting applied."""
    cycle = pipeline.cycle_run(at=batch.cut_off)
    for file_id in cycle.file_ids:
        pipeline.bank_file_write(file_id)
    pipeline.bank_answers_collect()
    return cycle.file_ids


# --- Acceptance: test payments never reach a real bank file or a recipient ------------------


def test_test_batches_never_appear_in_real_bank_files_or_recipients_notices(
    operator, client, bank_dir
):
    world = in_test(build_world(failure_choice="waiting", operator=operator))
    # The same authority pays for real through another payment system, to the same recipients.
    real_system = PaymentSystem.objects.create(code="opus", name="OPUS", vendor="KMD")
    ConnectionAgreement.objects.create(
        authority=world.authority,
        payment_system=real_system,
        status=Status.ACTIVE,
        activated_at=timezone.now(),
        failure_choice="waiting",
    )
    real = api_client_create(
        actor=operator,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name="OPUS for Testkøbing",
        authority=world.authority,
        payment_system=real_system,
    )
    real_world = World(**{**world.__dict__, "client_id": real.client_id})
    real_world.client_secret = real.client_secret
    test_payments = [
        payment("T-NK", CPR_WITH_NEMKONTO, amount="111.00"),
        payment("T-WAIT", CPR_WITHOUT_ACCOUNT, amount="111.00"),
    ]
    real_payments = [
        payment("R-NK", CPR_WITH_NEMKONTO, amount="222.00"),
        payment("R-WAIT", CPR_WITHOUT_ACCOUNT, amount="222.00"),
    ]

    test_answer = send_json(client, bearer(world, client), world.envelope(payments=test_payments))
    real_answer = send_json(
        client, bearer(real_world, client), world.envelope(payments=real_payments)
    )
    test_batch, real_batch = accepted_batch(test_answer), accepted_batch(real_answer)
    assert (test_answer.json()["test"], real_answer.json()["test"]) == (True, False)
    pipeline.batch_process(str(test_batch.pk))
    pipeline.batch_process(str(real_batch.pk))
    # The recipient without an account registers one: the waiting payments are released.
    recipient = Recipient.objects.get(id_number=CPR_WITHOUT_ACCOUNT)
    NemKonto.objects.create(
        recipient=recipient,
        account_kind="danish",
        reg="3000",
        number="0005555555",
        state=NemKonto.State.ACTIVE,
        channel="citizen",
        actor_label="borger",
        activated_at=timezone.now(),
    )
    assert len(pipeline.waiting_release().payment_ids) == 2
    file_ids = forward_and_answer(test_batch)

    # Notices: the real payment's (waiting, then released), never the test payment's.
    notices = Notice.objects.filter(
        kind__in=[Notice.Kind.PAYMENT_WAITING, Notice.Kind.PAYMENT_RELEASED]
    )
    assert {n.kind for n in notices} == {
        Notice.Kind.PAYMENT_WAITING,
        Notice.Kind.PAYMENT_RELEASED,
    }
    assert all("222,00" in n.body and "111,00" not in n.body for n in notices)

    # Bank files: one real and one test file, never mixed.
    files = {f.is_test: f for f in BankFile.objects.filter(pk__in=file_ids)}
    assert set(files) == {False, True}
    in_file = {
        test: set(Payment.objects.filter(bank_file=f).values_list("reference", flat=True))
        for test, f in files.items()
    }
    assert in_file == {False: {"R-NK", "R-WAIT"}, True: {"T-NK", "T-WAIT"}}
    # The real file waits in the bank's outbox; the test file never goes there, and the simulated
    # bank has answered it.
    outbox = {p.name for p in (bank_dir / "3000" / "outbox").iterdir()}
    assert outbox == {f"{files[False].message_id}.xml"}
    assert not Path(files[False].path).is_relative_to(bank_dir / "test")
    assert Path(files[True].path).is_relative_to(bank_dir / "test")
    assert set(Payment.objects.filter(batch=test_batch).values_list("status", "return_code")) == {
        ("bank_received", 8)
    }
    assert set(Payment.objects.filter(batch=real_batch).values_list("status", "return_code")) == {
        ("forwarded", 0)
    }
    # The banks' API lists only the real file.
    bank_client = api_client_create(
        actor=operator, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=world.bank
    )
    bank_world = World(**{**world.__dict__, "client_id": bank_client.client_id})
    bank_world.client_secret = bank_client.client_secret
    listed = client.get(
        "/api/v1/bank/files?status=all", headers=bearer_for_scope(bank_world, client, "bank")
    )
    assert [f["message_id"] for f in listed.json()["results"]] == [files[False].message_id]


def bearer_for_scope(world: World, client: Client, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token(client, scope=scope)}"}


def test_the_api_and_the_caseworker_search_show_test_payments_as_test(world, client):
    headers = bearer(world, client)
    batch = accepted_batch(send_json(client, headers, world.envelope(payments=[payment("T1")])))
    pipeline.batch_process(str(batch.pk))

    status = client.get(f"{BATCHES}/{batch.pk}", headers=headers).json()
    payments = client.get(f"{BATCHES}/{batch.pk}/payments", headers=headers).json()

    assert status["test"] is True
    assert [(p["reference"], p["test"]) for p in payments["results"]] == [("T1", True)]


# --- The test script and go-live -------------------------------------------------------------


def passed(agreement: ConnectionAgreement) -> dict[str, bool]:
    return {s.code: s.passed for s in script.test_script(agreement)}


def test_go_live_is_refused_until_every_scenario_of_the_test_script_has_passed(
    world, client, operator
):
    headers = bearer(world, client)
    assert not any(passed(world.agreement).values())

    batch = accepted_batch(
        send_json(
            client,
            headers,
            world.envelope(
                payments=[
                    payment("T-0", CPR_WITH_NEMKONTO),
                    payment(
                        "T-COMPLETE",
                        CPR_WITH_NEMKONTO,
                        account={"reg": "3000", "number": "0001234567"},
                    ),
                    payment("T-1", CPR_NOT_IN_REGISTER),
                    payment("T-2", CPR_WITH_NEMKONTO, amount="12,3,4"),
                    payment("T-7", CPR_WITHOUT_ACCOUNT),
                    payment("T-9", CPR_WITH_NEMKONTO, text="REJECT:AC04"),
                    payment("T-STOP", CPR_WITH_NEMKONTO),
                ]
            ),
        )
    )
    pipeline.batch_process(str(batch.pk))
    stopped = client.post(
        f"{BATCHES}/{batch.pk}/stop",
        {"references": ["T-STOP"]},
        content_type="application/json",
        headers=headers,
    )
    assert stopped.json()["results"] == {"T-STOP": "stopped"}

    # Produced, but the payment system has not fetched the answers yet.
    scenarios = {s.code: s for s in script.test_script(world.agreement)}
    assert not scenarios["code_0"].passed
    with translation.override("en"):
        evidence = script.test_script(world.agreement)[0].evidence
    assert evidence.endswith(
        "T-0 in batch " + str(batch.pk)[:8] + "; not yet fetched by the payment system"
    )
    assert [code for code, ok in passed(world.agreement).items() if ok] == [
        "stopped",
        "complete",
        "incomplete",
        "json",
    ]

    # It polls the batch's status: codes 0, 1, 2 and 7 are received.
    assert client.get(f"{BATCHES}/{batch.pk}", headers=headers).status_code == 200
    assert [code for code, ok in passed(world.agreement).items() if not ok] == [
        "code_8",
        "code_9",
        "file_upload",
    ]
    with pytest.raises(Conflict) as refused:
        services.agreement_advance(actor=operator, agreement=world.agreement, to=Status.ACTIVE)
    assert refused.value.code == "test_script_incomplete"
    for missing in ("code_8", "code_9", "file_upload"):
        assert str(script.TITLES[missing]) in str(refused.value)
    assert str(script.TITLES["code_0"]) not in str(refused.value)
    world.agreement.refresh_from_db()
    assert world.agreement.status == Status.IN_TEST

    # To the (simulated) bank and back: codes 8 and 9, received once the answers are fetched.
    forward_and_answer(batch)
    assert not passed(world.agreement)["code_9"]
    answers = client.get(f"{BATCHES}/{batch.pk}/return-answers.xml", headers=headers)
    assert answers.status_code == 200
    assert b"<ReturnCode>9</ReturnCode>" in b"".join(answers.streaming_content)
    # A file upload (CSV) completes the script.
    accepted_batch(
        send_csv(client, headers, f"T-CSV,CPR,{CPR_WITH_NEMKONTO},BOERNECHECK,5,,,,,\r\n")
    )

    assert all(passed(world.agreement).values())
    assert script.test_script_complete(world.agreement)
    agreement = services.agreement_advance(actor=operator, agreement=world.agreement)
    assert agreement.status == Status.ACTIVE
    # From now on its batches are real.
    real = accepted_batch(send_json(client, headers, world.envelope(payments=[payment("R-1")])))
    assert real.is_test is False


def test_a_delivered_callback_counts_as_received(world):
    batch = Batch.objects.create(
        authority=world.authority,
        payment_system=world.system,
        agreement=world.agreement,
        los_unit=world.unit,
        bank_agreement=world.bank_agreement,
        api_client=world.api_client,
        source_format="json",
        request_hash="x",
        expected_value_date=datetime.date(2026, 12, 1),
        cut_off=timezone.now(),
        is_test=True,
    )
    batch.callback_deliveries.create(
        api_client=world.api_client,
        status=Batch.Status.CLOSED,
        payload={"batch_id": str(batch.pk), "return_codes": {"1": 1}},
        state="delivered",
        delivered_at=timezone.now(),
    )
    with translation.override("en"):
        scenarios = {s.code: s for s in script.test_script(world.agreement)}
    assert scenarios["code_1"].passed
    assert scenarios["code_1"].evidence == f"Batch {str(batch.pk)[:8]}: callback delivered"
    assert not scenarios["code_2"].passed


def test_the_test_scripts_of_an_authority(world, other_system_in_test):
    scripts = script.test_scripts_for(world.authority)
    assert [s.agreement.payment_system.code for s in scripts] == ["kmd-ydelse", "sap"]
    assert all(not s.complete and s.passed_count == 0 for s in scripts)
    assert len(scripts[0].scenarios) == len(script.SCENARIO_CODES)


@pytest.fixture
def other_system_in_test(world: World) -> ConnectionAgreement:
    system = PaymentSystem.objects.create(code="sap", name="SAP", vendor="SAP")
    return ConnectionAgreement.objects.create(
        authority=world.authority, payment_system=system, status=Status.IN_TEST
    )


def test_the_admin_shows_the_test_script_and_moves_to_active_only_once_passed(
    world, client, operator
):
    client.force_login(operator)
    page = client.get(f"/admin/payments/connectionagreement/{world.agreement.pk}/change/")
    content = page.content.decode()
    assert page.status_code == 200
    assert 'id="test-script"' in content
    assert 'id="readiness"' in content
    assert content.count('class="not-passed"') == len(script.SCENARIO_CODES)

    response = client.post(
        f"/admin/payments/connectionagreement/{world.agreement.pk}/go-live/", follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        missing = str(script.TITLES["json"])
    assert any(missing in m for m in messages), messages
    world.agreement.refresh_from_db()
    assert world.agreement.status == Status.IN_TEST


# --- The go-live date -----------------------------------------------------------------------


@pytest.fixture
def live_later(operator: Any) -> World:
    """An active agreement that goes live in three weeks."""
    world = build_world(operator=operator)
    ConnectionAgreement.objects.filter(pk=world.agreement.pk).update(
        go_live_on=timezone.localdate() + datetime.timedelta(days=21)
    )
    world.agreement.refresh_from_db()
    return world


def refused_before_go_live(response: Any) -> None:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert {"field": "requested_value_date", "code": "before_go_live"} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert not Batch.objects.exists()
    assert not Payment.objects.exists()


def test_a_real_batch_before_the_go_live_date_is_refused_json(live_later, client):
    headers = bearer(live_later, client)
    refused_before_go_live(
        send_json(client, headers, live_later.envelope(payments=[payment("R1")]))
    )
    go_live = live_later.agreement.go_live_on
    assert go_live is not None
    accepted = send_json(
        client,
        headers,
        live_later.envelope(requested_value_date=go_live.isoformat(), payments=[payment("R1")]),
    )
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["expected_value_date"] >= go_live.isoformat()


def test_a_real_file_upload_before_the_go_live_date_is_refused(live_later, client):
    headers = bearer(live_later, client)
    early = timezone.localdate() + datetime.timedelta(days=7)
    refused_before_go_live(
        send_csv(
            client,
            headers,
            f"R1,CPR,{CPR_WITH_NEMKONTO},BOERNECHECK,5,,,,,\r\n",
            requested_value_date=early.isoformat(),
        )
    )


def test_test_batches_are_not_held_to_the_go_live_date(live_later, client):
    in_test(live_later)
    response = send_json(
        client, bearer(live_later, client), live_later.envelope(payments=[payment("T1")])
    )
    assert accepted_batch(response).is_test is True


def test_after_an_approval_a_test_batch_is_not_held_to_the_bank_agreements_first_day(
    live_later, client
):
    # An approved connection request's bank agreement pays via NemKonto from the go-live date.
    BankAgreement.objects.filter(pk=live_later.bank_agreement.pk).update(
        pays_from=live_later.agreement.go_live_on
    )
    headers = bearer(live_later, client)
    # A real batch is told about the go-live date, the earlier of the two reasons it meets.
    refused_before_go_live(
        send_json(client, headers, live_later.envelope(payments=[payment("R1")]))
    )
    in_test(live_later)
    response = send_json(client, headers, live_later.envelope(payments=[payment("T1")]))
    assert accepted_batch(response).is_test is True


def test_a_requested_go_live_date_cannot_be_in_the_past(operator, world):
    system = PaymentSystem.objects.create(code="sap", name="SAP", vendor="SAP")
    with pytest.raises(ValidationFailed) as refused:
        services.agreement_request(
            actor=operator,
            authority=world.authority,
            payment_system=system,
            go_live_on=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert refused.value.field == "go_live_on"
    agreement = services.agreement_request(
        actor=operator,
        authority=world.authority,
        payment_system=system,
        go_live_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    assert agreement.go_live_on == timezone.localdate() + datetime.timedelta(days=30)
