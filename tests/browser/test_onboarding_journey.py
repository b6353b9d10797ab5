"""Issue 10, acceptance 1: a new authority's whole way to NemKonto. Its coordinator asks for the
connection of a new payment system in the portal; an operator approves it in the admin; the
payment system, a client of the API over HTTP, works through the test script in test mode (the
pipeline's stages and the simulated bank run here, as the worker would run them); the operator
cannot move the agreement to active before the script has passed and then does; a real batch
before the go-live date is refused, and the first real batch goes through a cycle into a real bank
file and is received by the bank.

Texts are the portal's as the browser gets them (Danish): each is looked up in the same catalogue
the portal uses, so the test holds whether or not the Danish translations are compiled yet.
"""

import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from accounts.api_clients import api_client_create
from accounts.models import ApiClient, Authority, Bank, ConnectionRequest, User
from accounts.tests.onboarding_fixtures import *  # noqa: F403
from accounts.tests.onboarding_fixtures import go_live, pdf_text
from payments import pipeline
from payments import test_script as script
from payments.management.commands.simulate_bank import answer_waiting_files
from payments.models import BankFile, Batch, Benefit, ConnectionAgreement, Payment
from payments.tests.pipeline_world import (
    CPR_NOT_IN_REGISTER,
    CPR_WITH_NEMKONTO,
    CPR_WITHOUT_ACCOUNT,
    NEMKONTO_ACCOUNT,
    _nemkonto,
    _recipient,
    payment,
)
from payments.tests.test_test_mode import CSV_HEADER, forward_and_answer

Status = ConnectionAgreement.Status
PASSWORD = "operatørens-lange-kodeord"
BANK_AGREEMENT = "BA-2026-77"


def da(text: str | Promise, **values: Any) -> str:
    """A text as the Danish portal shows it (the English msgid while it has no translation)."""
    with translation.override("da"):
        shown = gettext(text) if isinstance(text, str) else str(text)
        return shown % values if values else shown


@pytest.fixture
def bank_dir(settings: Any, tmp_path: Path) -> Path:
    """The banks' folders of the pipeline's stages run in this test."""
    settings.NEMKONTO_BANK_DIR = tmp_path / "banks"
    return Path(settings.NEMKONTO_BANK_DIR)


@pytest.fixture
def new_authority(authority: Authority, units: Any, bank: Bank) -> Authority:
    """A municipality with no agreement yet: its LOS units, a benefit, and recipients in the
    register (one with a NemKonto, one without an account)."""
    Benefit.objects.create(authority=authority, code="BOERNECHECK", name="Børnecheck")
    _nemkonto(_recipient("CPR", CPR_WITH_NEMKONTO, "Nina Nemkonto"), *NEMKONTO_ACCOUNT)
    _recipient("CPR", CPR_WITHOUT_ACCOUNT, "Uffe Udenkonto")
    return authority


@pytest.fixture
def operator_with_password(operator: User) -> User:
    operator.set_password(PASSWORD)
    operator.save(update_fields=["password"])
    return operator


class PaymentSystemClient:
    """The payment system's side of the API, over HTTP to the running portal."""

    def __init__(self, base_url: str, client_id: str, secret: str) -> None:
        self.base = f"{base_url}/api/v1"
        answer = requests.post(
            f"{base_url}/o/token/",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "payments",
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def envelope(self, **fields: Any) -> dict[str, Any]:
        return {
            "authority": "kbh",
            "los_unit": "BORGER",
            "bank_agreement": BANK_AGREEMENT,
            **fields,
        }

    def send(self, **fields: Any) -> requests.Response:
        return self.session.post(f"{self.base}/batches", json=self.envelope(**fields), timeout=60)

    def upload_csv(self, rows: str) -> requests.Response:
        return self.session.post(
            f"{self.base}/batches",
            params={"authority": "kbh", "los_unit": "BORGER", "bank_agreement": BANK_AGREEMENT},
            data=(CSV_HEADER + rows).encode(),
            headers={"Content-Type": "text/csv"},
            timeout=60,
        )

    def get(self, path: str) -> requests.Response:
        answer = self.session.get(f"{self.base}{path}", timeout=60)
        assert answer.status_code == 200, answer.text
        return answer


def accepted(answer: requests.Response) -> Batch:
    assert answer.status_code == 202, answer.text
    return Batch.objects.get(pk=answer.json()["batch_id"])


def choose(page: Page, name: str, value: str) -> None:
    """Tick a radio button or checkbox as a user does: on its label."""
    field = page.locator(f'input[name="{name}"][value="{value}"]')
    page.locator(f'label[for="{field.get_attribute("id")}"]').click()
    expect(field).to_be_checked()


def admin_log_in(page: Page, operator: User) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(operator.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator('#login-form [type="submit"]').click()
    expect(page.locator("#user-tools")).to_contain_text(operator.username)


def scenario_results(page: Page, agreement: ConnectionAgreement) -> list[str]:
    """The results column of the agreement's test script on the agreements page."""
    section = page.locator(f'section[aria-labelledby="agreement-{agreement.pk}"]')
    return section.locator("table").nth(1).locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_a_new_authority_goes_from_connection_request_to_its_first_real_batch(
    page,
    new_context,
    portal,
    login,
    assert_accessible,
    screenshot,
    bank_dir,
    new_authority,
    units,
    bank,
    coordinator,
    operator_with_password,
) -> None:
    operator = operator_with_password
    go_live_on = go_live()

    # --- 1. The coordinator asks for the connection of a new payment system ------------------
    login(page, coordinator, next="/tilslutning/")
    page.get_by_role("link", name=da("New connection request")).click()
    choose(page, "connection", "new")
    page.locator('main form [type="submit"]').first.click()
    page.locator("#id_system_name").fill("Opus Debitor")
    page.locator("#id_system_vendor").fill("KMD")
    choose(page, "units", str(units.child.pk))
    page.locator("#id_bank").select_option(str(bank.pk))
    page.locator("#id_bank_agreement_number").fill(BANK_AGREEMENT)
    page.locator("#id_disbursement_reg").fill("3000")
    page.locator("#id_disbursement_number").fill("4444444")
    choose(page, "failure_choice", ConnectionAgreement.FailureChoice.RETURN)
    page.locator("#id_go_live_on").fill(go_live_on.isoformat())
    page.locator("#id_contact_name").fill("Kirsten Koordinator")
    page.locator("#id_contact_email").fill("kirsten@kbh.example")
    page.locator("#id_contact_phone").fill("33 66 33 66")
    page.locator("#id_technical_name").fill("Tom Tekniker")
    page.locator("#id_technical_email").fill("tom@kmd.example")
    page.locator("#id_technical_phone").fill("44 60 10 00")
    assert_accessible(page)
    page.get_by_role("button", name=da("Next: check the request")).click()

    # The summary, confirmed before anything is stored.
    expect(page.locator("main")).to_contain_text(da("Step 3 of 3: check the request and submit it"))
    summary = page.locator("main table")
    expect(summary).to_contain_text("Opus Debitor (KMD)")
    expect(summary).to_contain_text(BANK_AGREEMENT)
    expect(summary).to_contain_text("3000-0004444444")
    assert_accessible(page)
    screenshot(page, "onboarding-request-summary")
    assert not ConnectionRequest.objects.exists()
    page.get_by_role("button", name=da("Submit the request")).click()

    request = ConnectionRequest.objects.get()
    expect(page.locator(".alert-success")).to_contain_text(
        da("The connection request no. %(number)s is submitted.", number=request.pk)
    )
    expect(page.locator("main .badge")).to_have_text(da(ConnectionRequest.Status.SUBMITTED.label))
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=da("Download the request (PDF)")).click()
    assert download.value.suggested_filename == f"tilslutningsanmodning-{request.pk}.pdf"
    text = pdf_text(Path(download.value.path()).read_bytes())
    assert BANK_AGREEMENT in text
    assert "Kirsten Koordinator" in text

    # --- 2. The operator approves it in the admin --------------------------------------------
    admin = new_context().new_page()
    admin_log_in(admin, operator)
    admin.goto("/admin/accounts/connectionrequest/")
    admin.locator("#result_list").get_by_role("link", name=str(request.pk), exact=True).click()
    expect(admin.locator("#content")).to_contain_text(BANK_AGREEMENT)
    admin.go_back()
    admin.locator(f'input[name="_selected_action"][value="{request.pk}"]').check()
    admin.locator('select[name="action"]').select_option("approve")
    admin.locator('button[name="index"]').click()
    expect(admin.locator(".messagelist .success")).to_contain_text(
        da("%(count)d requests approved.", count=1)
    )

    agreement = ConnectionAgreement.objects.get(authority=new_authority)
    assert agreement.status == Status.IN_TEST
    assert agreement.go_live_on == go_live_on
    page.reload()
    expect(page.locator("main .badge")).to_have_text(da(ConnectionRequest.Status.APPROVED.label))
    page.get_by_role("link", name=da("Agreements, test and go-live")).click()
    section = page.locator(f'section[aria-labelledby="agreement-{agreement.pk}"]')
    expect(section.locator("h2")).to_have_text("Opus Debitor")
    expect(section).to_contain_text(da(Status.IN_TEST.label))
    total = len(script.SCENARIO_CODES)
    expect(section.locator("h3")).to_have_text(
        da("Test script: %(passed)s of %(total)s scenarios passed", passed=0, total=total)
    )
    assert scenario_results(page, agreement) == [da("Not passed")] * total
    assert_accessible(page)

    # --- 3. The payment system goes through the test script over the API --------------------
    credentials = api_client_create(
        actor=operator,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name="Opus Debitor for Testkøbing",
        authority=new_authority,
        payment_system=agreement.payment_system,
    )
    system = PaymentSystemClient(portal.base_url, credentials.client_id, credentials.client_secret)
    sent = system.send(
        payments=[
            payment("T-0", CPR_WITH_NEMKONTO),
            payment(
                "T-COMPLETE",
                CPR_WITH_NEMKONTO,
                account={"reg": NEMKONTO_ACCOUNT[0], "number": NEMKONTO_ACCOUNT[1]},
            ),
            payment("T-1", CPR_NOT_IN_REGISTER),
            payment("T-2", CPR_WITH_NEMKONTO, amount="12,3,4"),
            payment("T-7", CPR_WITHOUT_ACCOUNT),
            payment("T-9", CPR_WITH_NEMKONTO, text="REJECT:AC04"),
            payment("T-STOP", CPR_WITH_NEMKONTO),
        ]
    )
    batch = accepted(sent)
    assert sent.json()["test"] is True
    pipeline.batch_process(str(batch.pk))
    stop = system.session.post(
        f"{system.base}/batches/{batch.pk}/stop", json={"references": ["T-STOP"]}, timeout=30
    )
    assert stop.json()["results"] == {"T-STOP": "stopped"}, stop.text
    status = system.get(f"/batches/{batch.pk}").json()
    assert status["test"] is True

    # Not all passed yet: the operator's "Move to active" is refused, naming what is missing.
    admin.goto(f"/admin/payments/connectionagreement/{agreement.pk}/change/")
    expect(admin.locator("#test-script tr.not-passed")).to_have_count(3)
    admin.locator('input[name="go_live"]').click()
    refusal = admin.locator(".messagelist .error")
    expect(refusal).to_contain_text("Opus Debitor")
    for missing in ("code_8", "code_9", "file_upload"):
        expect(refusal).to_contain_text(da(script.TITLES[missing]))
    expect(refusal).not_to_contain_text(da(script.TITLES["code_0"]))
    agreement.refresh_from_db()
    assert agreement.status == Status.IN_TEST

    # The simulated bank answers (codes 8 and 9); the payment system fetches the answers and
    # sends a batch as a file.
    forward_and_answer(batch)
    answers = system.get(f"/batches/{batch.pk}/return-answers.xml").text
    assert "<ReturnCode>9</ReturnCode>" in answers
    upload = accepted(system.upload_csv(f"T-CSV,CPR,{CPR_WITH_NEMKONTO},BOERNECHECK,5,,,,,\r\n"))
    assert upload.is_test
    pipeline.batch_process(str(upload.pk))

    page.reload()
    expect(section.locator("h3")).to_have_text(
        da("Test script: %(passed)s of %(total)s scenarios passed", passed=total, total=total)
    )
    assert scenario_results(page, agreement) == [da("Passed")] * total
    expect(section).to_contain_text(
        da("Every scenario has passed: the NemKonto service can put the system in production.")
    )
    assert_accessible(page)
    screenshot(page, "onboarding-test-script-passed")

    # --- 4. Go-live and the first real batch -----------------------------------------------
    admin.reload()
    expect(admin.locator("#test-script tr.passed")).to_have_count(total)
    admin.locator('input[name="go_live"]').click()
    expect(admin.locator(".messagelist .success")).to_contain_text(
        da("%(agreement)s is active.", agreement=agreement)
    )
    agreement.refresh_from_db()
    assert agreement.status == Status.ACTIVE
    page.reload()
    expect(section).to_contain_text(da(Status.ACTIVE.label))
    expect(section.locator("h3")).to_have_count(0)  # no test script any more

    early = system.send(payments=[payment("R-EARLY", CPR_WITH_NEMKONTO)])
    assert early.status_code == 422, early.text
    assert {"field": "requested_value_date", "code": "before_go_live"} in [
        {"field": e["field"], "code": e["code"]} for e in early.json()["errors"]
    ]
    first = system.send(
        requested_value_date=go_live_on.isoformat(),
        payments=[payment("R-1", CPR_WITH_NEMKONTO, amount="2500.00")],
    )
    real = accepted(first)
    assert first.json()["test"] is False
    assert datetime.date.fromisoformat(first.json()["expected_value_date"]) >= go_live_on
    pipeline.batch_process(str(real.pk))
    cycle = pipeline.cycle_run(at=real.cut_off)
    for file_id in cycle.file_ids:
        pipeline.bank_file_write(file_id)
    bank_file = BankFile.objects.get(pk__in=cycle.file_ids, is_test=False)
    in_file = Payment.objects.filter(bank_file=bank_file).values_list("reference", flat=True)
    assert list(in_file) == ["R-1"]
    outbox = bank_dir / bank.reg / "outbox"
    assert [p.name for p in outbox.iterdir()] == [f"{bank_file.message_id}.xml"]
    # The bank takes the file and answers it; NemKonto applies the answer.
    assert answer_waiting_files(bank_dir, reject_rate=0.0, seed="journey")
    pipeline.bank_answers_collect()

    paid = system.get(f"/batches/{real.pk}/payments").json()["results"]
    assert [(p["reference"], p["test"], p["status"], p["return_code"]) for p in paid] == [
        ("R-1", False, "bank_received", 8)
    ]
