"""Banks' bulk NemKonto reports (issue 5, acceptance 4; API.md, Banks).

The bulk path must leave exactly what the same changes reported one by one leave: the same
versions, notices and audit records (compared field by field on twin recipients), the same
refusals (the first error of a rejected row is the single report's error), and nothing at all
for a refused request.
"""

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max
from django.utils import translation
from schwifty import IBAN

from accounts.models import ApiClient, AuditEvent, Bank, User
from accounts.tests.factories import UserFactory, valid_cvr
from nemkonto.errors import ApplicationError
from registry import bank_bulk, bulk_api, bulk_tasks
from registry.bank_bulk import (
    _slow_row,
    bank_bulk_apply,
    bank_bulk_submit,
    bank_regs,
    check_row,
    known_regs,
)
from registry.models import (
    AccountKind,
    BankBulkJob,
    BankBulkRow,
    NemKonto,
    Notice,
    Recipient,
    SpecificAccount,
    StoredAccount,
)
from registry.services import (
    nemkonto_change_by_caseworker,
    nemkonto_report_by_bank,
    specific_account_create,
)
from registry.services.common import not_in_register
from registry.services.nemkonto import _account_at_bank
from registry.tests.conftest import (
    DANISH,
    DANISH_2,
    FOREIGN,
    OTHER_BANK_ACCOUNT,
    OTHER_CPR,
    Client,
    make_client,
    make_recipient,
)

URL = "/api/v1/nemkonto/bulk"
OLD = {"reg": "3000", "number": "1111"}
PENDING = {"reg": "3000", "number": "2222"}


def change(id_type: str, id_number: str, account: Any) -> dict[str, Any]:
    return {"recipient": {"type": id_type, "id": id_number}, "account": account}


def submit_and_apply(client: Client, changes: list[Any]) -> BankBulkJob:
    job = bank_bulk_submit(actor=client.api_client, changes=changes).job
    applied = bank_bulk_apply(job_id=job.pk)
    assert applied is not None
    return applied


def rows(job: BankBulkJob) -> list[BankBulkRow]:
    return list(BankBulkRow.objects.filter(job=job).order_by("index"))


def errors(row: BankBulkRow) -> list[dict[str, str]]:
    return list(row.errors or [])


def cpr(n: int) -> str:
    """The n-th CPR number of a test series (1 January 1990 onwards, 7th digit 1)."""
    return f"{1 + n % 28:02d}{1 + n // 28:02d}901{n:03d}"


def written() -> tuple[int, int, int, int]:
    """What the registry holds: versions, notices, audit records, bulk jobs."""
    return (
        NemKonto.objects.count(),
        Notice.objects.count(),
        AuditEvent.objects.filter(target_type__startswith="registry.").count(),
        BankBulkJob.objects.count(),
    )


# --- The same outcome as single reports ------------------------------------------------------


SCENARIOS = {
    # name: (ID type, has a login with e-mail, current account, pending change, reported)
    "new": ("CPR", False, None, None, DANISH),
    "replace": ("CPR", False, OLD, None, DANISH),
    "same": ("CPR", False, DANISH, None, DANISH),
    "pending": ("CPR", False, OLD, PENDING, DANISH),
    "same_pending": ("CPR", False, DANISH, PENDING, DANISH),
    "pending_only": ("CPR", True, None, PENDING, DANISH_2),
    "email_iban": ("CPR", True, OLD, None, {"iban": "DK80 3001 0007 6543 21"}),
    "business": ("CVR", False, OLD, None, DANISH_2),
}


def _twin(n: int, name: str, spec: tuple[Any, ...], bank_client: Client, caseworker: User) -> Any:
    id_type, login, current, pending, _reported = spec
    number = cpr(n) if id_type == "CPR" else valid_cvr(500 + n)
    owner = number if id_type == "CVR" else ""
    recipient = make_recipient(id_type, number, f"Tvilling {name}", cvr=owner)
    if login:
        UserFactory.create(
            kind=User.Kind.CITIZEN,
            recipient_type=id_type,
            recipient_id=number,
            email=f"{name}@example.org",
        )
    if current is not None:
        nemkonto_report_by_bank(
            actor=bank_client.api_client, id_type=id_type, id_number=number, account=current
        )
    if pending is not None:
        nemkonto_change_by_caseworker(
            actor=caseworker, id_type=id_type, id_number=number, account=pending
        )
    return recipient


def _snapshot(recipient: Recipient, since: dict[str, Any]) -> dict[str, Any]:
    """What a recipient's versions, notices and audit records say, with ids replaced by roles."""
    versions = list(NemKonto.objects.filter(recipient=recipient).order_by("id"))
    role = {v.pk: ("before" if v.pk <= since["version"] else "new", v.state) for v in versions}
    audit = AuditEvent.objects.filter(
        pk__gt=since["audit"], target_type="registry.NemKonto", target_id__in=map(str, role)
    )
    return {
        "versions": [
            (
                role[v.pk],
                v.channel,
                v.actor_id,
                v.actor_label,
                v.authority_id,
                v.bank_id,
                v.stored_account,
                v.activated_at == v.created_at if v.activated_at else None,
                v.end_reason,
                v.ended_by_id,
                v.ended_by_label,
                v.ended_channel,
                v.ended_at is not None and v.ended_at > since["at"],
            )
            for v in versions
        ],
        "notices": sorted(
            (n.kind, n.channel, n.to_address, n.subject, n.body, n.sent_at, n.attempts)
            for n in Notice.objects.filter(recipient=recipient, pk__gt=since["notice"])
        ),
        "audit": sorted(
            (
                a.action,
                a.actor_id,
                a.actor_label,
                a.authority_id,
                role[int(a.target_id)],
                json.dumps(
                    {
                        **a.data,
                        "recipient": a.data["recipient"] == recipient.pk,
                        "previous": role.get(a.data.get("previous")),
                    },
                    sort_keys=True,
                ),
            )
            for a in audit
        ),
    }


@pytest.mark.parametrize(
    "max_changes",
    [
        pytest.param(1000, id="no-holds"),
        # Every recipient with an earlier version is held for review, by both paths alike.
        pytest.param(2, id="frequent-changes-held"),
    ],
)
def test_bulk_leaves_exactly_what_single_reports_leave(
    settings, bank_client, nk_caseworker, max_changes
):
    # Every scenario reports one of two accounts: the shared-account rule stays out of the way.
    settings.NEMKONTO_RISK_SHARED_RECIPIENTS = 1000
    settings.NEMKONTO_RISK_MAX_CHANGES = max_changes
    singles = {
        name: _twin(2 * i, name, spec, bank_client, nk_caseworker)
        for i, (name, spec) in enumerate(SCENARIOS.items())
    }
    twins = {
        name: _twin(2 * i + 1, name, spec, bank_client, nk_caseworker)
        for i, (name, spec) in enumerate(SCENARIOS.items())
    }
    since = {
        "version": NemKonto.objects.aggregate(m=Max("id"))["m"],
        "notice": Notice.objects.aggregate(m=Max("id"))["m"],
        "audit": AuditEvent.objects.aggregate(m=Max("id"))["m"],
        "at": NemKonto.objects.order_by("-created_at").first().created_at,  # type: ignore[union-attr]
    }
    for name, recipient in singles.items():
        nemkonto_report_by_bank(
            actor=bank_client.api_client,
            id_type=recipient.id_type,
            id_number=recipient.id_number,
            account=SCENARIOS[name][4],
        )
    job = submit_and_apply(
        bank_client,
        [
            change(recipient.id_type, recipient.id_number, SCENARIOS[name][4])
            for name, recipient in twins.items()
        ],
    )

    for name in SCENARIOS:
        assert _snapshot(twins[name], since) == _snapshot(singles[name], since), name
    outcomes = {row.index: row.outcome for row in rows(job)}
    names = list(SCENARIOS)
    assert [outcomes[i] for i in range(len(names))] == [
        "unchanged" if name.startswith("same") else "changed" for name in names
    ]
    assert (job.status, job.received, job.changed, job.unchanged, job.rejected) == (
        "done",
        len(SCENARIOS),
        len(SCENARIOS) - 2,
        2,
        0,
    )
    # Each result names the version now in force (written, or kept when unchanged), or the
    # change held for review.
    for row in rows(job):
        recipient = twins[names[row.index]]
        if row.outcome == "changed":
            latest = NemKonto.objects.filter(recipient=recipient).latest("created_at", "id")
            assert latest.state in {"active", "held_for_review"}
            assert row.version_id == latest.pk
        else:
            assert row.version_id == NemKonto.objects.get(recipient=recipient, state="active").pk
    if max_changes == 2:
        held = NemKonto.objects.filter(recipient__in=twins.values(), state="held_for_review")
        assert {v.recipient.name for v in held} == {
            twins[name].name for name, spec in SCENARIOS.items() if spec[2] or spec[3]
        } - {twins["same"].name, twins["same_pending"].name}
        assert all(v.hold_reasons == ["frequent_changes"] for v in held)
    # The notices exist once each (no row applied twice).
    assert Notice.objects.filter(pk__gt=since["notice"]).count() == 2 * sum(
        len(_snapshot(r, since)["notices"]) for r in singles.values()
    )


def test_the_job_itself_is_audited(bank_client, person):
    job = submit_and_apply(bank_client, [change("CPR", person.id_number, DANISH)])
    events = AuditEvent.objects.filter(target_type="registry.BankBulkJob", target_id=str(job.pk))
    assert sorted(events.values_list("action", flat=True)) == [
        "nemkonto.bulk_apply",
        "nemkonto.bulk_receive",
    ]
    assert events.get(action="nemkonto.bulk_apply").data["changed"] == 1


# --- Refusals: the single report's error, nothing applied ----------------------------------


def _unknown_reg() -> str:
    return next(f"{n:04d}" for n in range(10_000) if f"{n:04d}" not in known_regs())


BAD_CHANGES: list[tuple[str, str, Any]] = [
    ("CPR", "3102901234", DANISH),  # no 31 February
    ("CPR", "12345", DANISH),
    ("XYZ", "12345678", DANISH),
    ("CVR", "12345678", DANISH),
    ("CPR", OTHER_CPR, DANISH),  # not in the register
    ("CPR", OTHER_CPR, OTHER_BANK_ACCOUNT),  # "not in the register" comes first
    ("CPR", "0101901234", {"reg": "UNKNOWN", "number": "1"}),
    ("CPR", "0101901234", {"iban": "DK5000400440116244"}),  # wrong check digits
    ("CPR", "0101901234", {"iban": "DK80 3001 0007 6543 21", "bic": "XX"}),
    ("CPR", "0101901234", OTHER_BANK_ACCOUNT),  # not the reporting bank's account
    ("CPR", "0101901234", FOREIGN),  # banks report Danish accounts only
    ("CPR", "0101901234", {"reg": "3000"}),
    ("CPR", "0101901234", {}),
    ("CPR", "0101901234", None),
    ("CPR", "0101901234", {"reg": "3000", "number": "12345678901"}),
]


def _bulk_field(index: int, single_field: str) -> str:
    if single_field in ("id", "type"):
        return f"changes[{index}].recipient.{single_field}"
    return f"changes[{index}].{single_field}"


def test_a_rejected_row_gets_the_single_reports_error_and_changes_nothing(bank_client, person):
    changes = []
    expected = []
    for id_type, id_number, account in BAD_CHANGES:
        if account == {"reg": "UNKNOWN", "number": "1"}:
            account = {"reg": _unknown_reg(), "number": "1"}
        changes.append(change(id_type, id_number, account))
        with pytest.raises(ApplicationError) as refused:
            nemkonto_report_by_bank(
                actor=bank_client.api_client, id_type=id_type, id_number=id_number, account=account
            )
        expected.append(refused.value)
    versions, notices = NemKonto.objects.count(), Notice.objects.count()

    job = submit_and_apply(bank_client, changes)

    assert (NemKonto.objects.count(), Notice.objects.count()) == (versions, notices)
    for row, error in zip(rows(job), expected, strict=True):
        assert row.outcome == "rejected"
        assert row.version_id is None
        first = errors(row)[0]
        assert (first["code"], first["message"]) == (error.code, str(error.message)), row.index
        assert first["field"] == _bulk_field(row.index, error.field or ""), row.index
    assert job.rejected == len(BAD_CHANGES)
    assert job.changed == 0


def test_rows_that_are_not_changes_are_rejected_with_their_path(bank_client, person):
    job = submit_and_apply(
        bank_client,
        [
            "not an object",
            {"recipient": {"type": "CPR", "id": person.id_number}, "account": DANISH, "x": 1},
            {"account": DANISH},
            {"recipient": {"type": "CPR", "id": 101901234}, "account": DANISH},
            change("CPR", "3102901234", OTHER_BANK_ACCOUNT),
            change("CPR", person.id_number, DANISH),
        ],
    )
    result = rows(job)
    assert [r.outcome for r in result] == ["rejected"] * 5 + ["changed"]
    assert [(e["field"], e["code"]) for e in errors(result[0])] == [("changes[0]", "invalid")]
    assert (errors(result[1])[0]["field"], errors(result[1])[0]["code"]) == (
        "changes[1].x",
        "unknown_field",
    )
    assert (errors(result[2])[0]["field"], errors(result[2])[0]["code"]) == (
        "changes[2].recipient",
        "required",
    )
    assert errors(result[3])[0]["field"] == "changes[3].recipient.id"
    # Every problem of a row is listed, the single report's error first.
    assert [(e["field"], e["code"]) for e in errors(result[4])] == [
        ("changes[4].recipient.id", "cpr_invalid_date"),
        ("changes[4].account", "account_not_at_bank"),
    ]
    assert NemKonto.objects.get(recipient=person, state="active").stored_account == StoredAccount(
        AccountKind.DANISH, "3000", "0001234567"
    )


def test_the_same_recipient_twice_the_last_valid_change_wins(bank_client, person):
    job = submit_and_apply(
        bank_client,
        [
            change("CPR", person.id_number, DANISH),
            change("CPR", "010190-1234", DANISH_2),
            change("CPR", person.id_number, OTHER_BANK_ACCOUNT),  # rejected: does not count
        ],
    )
    result = rows(job)
    assert [r.outcome for r in result] == ["superseded", "changed", "rejected"]
    assert result[0].superseded_by == 1
    versions = NemKonto.objects.filter(recipient=person)
    assert versions.count() == 1  # no version in force for no time
    assert versions.get().reg == "3001"
    assert (job.changed, job.superseded, job.rejected) == (1, 1, 1)


def test_a_bank_cannot_touch_specific_accounts(bank_client, person, sa_caseworker, benefit):
    specific = specific_account_create(
        actor=sa_caseworker,
        id_type="CPR",
        id_number=person.id_number,
        benefit_code=benefit.code,
        account=OLD,
        locked=True,
    )
    submit_and_apply(bank_client, [change("CPR", person.id_number, DANISH)])
    assert list(SpecificAccount.objects.values_list("pk", "state", "reg", "number")) == [
        (specific.pk, "active", "3000", "0000001111")
    ]
    assert NemKonto.objects.get(recipient=person, state="active").reg == "3000"


def test_messages_are_in_the_language_of_the_submission(bank_client):
    bad = change("CPR", "3102901234", DANISH)
    with translation.override("da"):
        job = bank_bulk_submit(
            actor=bank_client.api_client, changes=[change("CPR", OTHER_CPR, DANISH), bad]
        ).job
    assert job.language == "da"
    with translation.override("en"):
        bank_bulk_apply(job_id=job.pk)  # the task runs in any language
    messages = {}
    for language in ("da", "en"):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            nemkonto_report_by_bank(
                actor=bank_client.api_client, id_type="CPR", id_number="3102901234", account=DANISH
            )
        messages[language] = str(refused.value.message)
        with translation.override(language):
            messages[f"{language} unknown"] = str(not_in_register("").message)
    assert messages["da"] != messages["en"]
    result = rows(job)
    assert errors(result[0]) == [
        {
            "field": "changes[0].recipient.id",
            "code": "not_in_register",
            "message": messages["da unknown"],
        }
    ]
    assert errors(result[1])[0]["message"] == messages["da"]


# --- The checks: fast paths agree with the rules ----------------------------------------------


def test_bank_regs_are_the_single_reports_rule(bank_client, other_bank):
    client = bank_client.api_client
    regs = bank_regs(client.bank)
    assert {"3000", "3001"} <= regs
    assert "5301" not in regs
    rng = random.Random(5)  # noqa: S311 - reproducible test data
    for reg in [*rng.sample(sorted(known_regs()), 400), "3000", "5301"]:
        account = StoredAccount(AccountKind.DANISH, reg=reg, number="0000000001")
        assert (reg in regs) == _account_at_bank(account, client), reg


def _random_item(rng: random.Random, regs: list[str]) -> Any:
    """A change near the edges of the rules: mostly valid, often slightly wrong."""
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    kind = rng.choice(["CPR", "CPR", "CPR", "CVR", "P", "SE", "cpr", "X"])
    if kind in ("CPR", "cpr"):
        day = rng.choice(["29", "28", "31", "30", "01", "15", "00", "32", digits[:2]])
        month = rng.choice(["02", "02", "04", "12", "01", "13", "00", digits[2:4]])
        raw = day + month + digits[4:6] + rng.choice(["", "", "-", " ", "--"]) + digits[6:10]
        raw = rng.choice([raw, raw, raw, f" {raw}", raw[:-1]])
    elif kind == "CVR":
        raw = rng.choice([digits[:8], valid_cvr(rng.randrange(1000)), "0" + digits[:7]])
    else:
        raw = digits[: rng.choice([8, 10, 9])]
    reg = rng.choice([*regs, *regs, "5301", "0400", "12", "30000", " 3000", "ab12"])
    number = digits[: rng.choice([1, 4, 7, 10, 10, 0, 11])] + rng.choice(["", "", "", " ", "x"])
    if rng.random() < 0.4:
        bban = reg.strip()[:4].zfill(4) + digits[:10]
        if bban.isdigit():
            iban = str(IBAN.generate("DK", bank_code=bban[:4], account_code=bban[4:]))
        else:
            iban = "DK00" + digits
        if rng.random() < 0.3:
            iban = iban[:-1] + str((int(iban[-1]) + 1) % 10)
        iban = rng.choice([iban, iban, iban.lower(), " ".join([iban[:4], iban[4:8], iban[8:]])])
        account: Any = {"iban": iban}
        if rng.random() < 0.3:
            account["bic"] = rng.choice(["", None, "DABADKKK", "X"])
    else:
        account = {"reg": reg, "number": number}
        if rng.random() < 0.1:
            account = {"reg": int(digits[:4]), "number": number}
    return change(kind, raw, account)


def test_fast_checks_accept_only_what_the_rules_accept(bank_client):
    bank: Bank = bank_client.api_client.bank
    regs = bank_regs(bank)
    rng = random.Random(2026)  # noqa: S311 - reproducible test data
    sample = [*sorted(regs)[:20], *rng.sample(sorted(known_regs()), 20)]
    accepted = 0
    for index in range(20_000):
        item = _random_item(rng, sample)
        fast = check_row(index, item, bank, regs)
        rule = _slow_row(index, item, bank, regs)
        assert fast == rule, item
        accepted += not fast[4]
    assert accepted > 1_000  # the sample reaches the fast paths


# --- Running twice, the task ------------------------------------------------------------------


def test_applying_a_job_twice_changes_nothing_more(bank_client, person, company):
    job = bank_bulk_submit(
        actor=bank_client.api_client,
        changes=[change("CPR", person.id_number, DANISH), change("CVR", company.id_number, OLD)],
    ).job
    bank_bulk_apply(job_id=job.pk)
    after_first = (written(), list(BankBulkRow.objects.values_list("outcome", "version_id")))
    again = bank_bulk_apply(job_id=job.pk)
    assert again is not None
    assert again.status == "done"
    assert (written(), list(BankBulkRow.objects.values_list("outcome", "version_id"))) == (
        after_first
    )
    assert bank_bulk_apply(job_id=987654321) is None


def test_submission_queues_the_task_after_commit(
    bank_client, person, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    ran: list[int] = []

    def run_now(job_id: int) -> None:
        ran.append(job_id)
        bulk_tasks.bank_bulk_process(job_id)

    monkeypatch.setattr(bulk_tasks.bank_bulk_process, "delay", run_now)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = bank_bulk_submit(
            actor=bank_client.api_client, changes=[change("CPR", person.id_number, DANISH)]
        ).job
    assert ran == [job.pk]
    assert len(callbacks) >= 2  # the task, then the notices
    job.refresh_from_db()
    assert job.status == "done"
    assert [m.subject for m in mailoutbox] == [
        Notice.objects.get(recipient=person).subject  # sent by registry.tasks.notices_send
    ]
    bulk_tasks.bank_bulk_process(job.pk)  # a second delivery of the task: nothing happens
    assert NemKonto.objects.filter(recipient=person).count() == 1


def test_a_failing_job_is_marked_failed_and_applies_nothing(bank_client, person, monkeypatch):
    job = bank_bulk_submit(
        actor=bank_client.api_client, changes=[change("CPR", person.id_number, DANISH)]
    ).job

    real_apply = bank_bulk._apply

    def apply_then_break(job: BankBulkJob) -> None:
        real_apply(job)
        raise RuntimeError("boom")

    monkeypatch.setattr(bank_bulk, "_apply", apply_then_break)
    with pytest.raises(RuntimeError):
        bulk_tasks.bank_bulk_process(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "RuntimeError: boom")
    assert not NemKonto.objects.filter(recipient=person).exists()
    assert not Notice.objects.filter(recipient=person).exists()


# --- The API ----------------------------------------------------------------------------------


def _post(api: Any, client: Client | None, body: Any, **headers: str) -> Any:
    if client is not None:
        headers = {**client.headers, **headers}
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return api.generic("POST", URL, raw, content_type="application/json", headers=headers)


@pytest.fixture
def run_jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Jobs queued after the commit run at once (no broker in the tests)."""
    queued: list[int] = []

    def run_now(job_id: int) -> None:
        queued.append(job_id)
        bank_bulk_apply(job_id=job_id)

    monkeypatch.setattr(bulk_tasks.bank_bulk_process, "delay", run_now)
    return queued


def test_api_accepts_a_report_and_gives_per_row_results(
    api, bank_client, person, company, run_jobs, django_capture_on_commit_callbacks
):
    body = {
        "changes": [
            change("CPR", person.id_number, DANISH),
            change("CVR", company.id_number, OTHER_BANK_ACCOUNT),
            change("CPR", OTHER_CPR, DANISH),
        ]
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, bank_client, body)
    assert response.status_code == 202, response.content
    answer = response.json()
    job = BankBulkJob.objects.get()
    assert answer == {
        "job_id": job.pk,
        "status": "received",
        "received": 3,
        "links": {"self": f"http://testserver{URL}/{job.pk}"},
    }
    assert response["Location"] == answer["links"]["self"]
    assert run_jobs == [job.pk]

    result = api.get(f"{URL}/{job.pk}", headers=bank_client.headers).json()
    assert result["status"] == "done"
    assert result["counts"] == {"changed": 1, "unchanged": 0, "superseded": 0, "rejected": 2}
    assert [(r["index"], r["result"]) for r in result["results"]] == [
        (0, "changed"),
        (1, "rejected"),
        (2, "rejected"),
    ]
    assert result["results"][0]["recipient"] == {"type": "CPR", "id": person.id_number}
    assert result["results"][0]["version"] == NemKonto.objects.get(recipient=person).pk
    assert result["results"][1]["errors"][0]["field"] == "changes[1].account"
    assert result["results"][2]["errors"][0]["code"] == "not_in_register"
    assert result["next"] is None

    rejected = api.get(
        f"{URL}/{job.pk}", {"result": "rejected", "page_size": 1}, headers=bank_client.headers
    ).json()
    assert [r["index"] for r in rejected["results"]] == [1]
    following = api.get(rejected["next"], headers=bank_client.headers).json()
    assert [r["index"] for r in following["results"]] == [2]
    assert following["next"] is None


def test_api_counts_before_the_job_ran(api, bank_client, person):
    response = _post(api, bank_client, {"changes": [change("CPR", person.id_number, FOREIGN)]})
    job_id = response.json()["job_id"]
    result = api.get(f"{URL}/{job_id}", headers=bank_client.headers).json()
    assert result["status"] == "received"
    assert result["counts"]["rejected"] == 1
    assert result["results"][0]["errors"][0]["code"] == "account_not_at_bank"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("{not json", 400, None),
        ("[1, 2]", 422, ""),
        ({"changes": [], "bank": "3000"}, 422, "bank"),
        ({}, 422, "changes"),
        ({"changes": {"a": 1}}, 422, "changes"),
        ({"changes": []}, 422, "changes"),
        ({"changes": [change("CPR", "0101901234", DANISH)] * 4}, 422, "changes"),  # limit 3
    ],
)
def test_envelope_errors_store_nothing(api, bank_client, person, monkeypatch, body, status, field):
    monkeypatch.setattr(bank_bulk, "MAX_CHANGES", 3)
    before = written()
    response = _post(api, bank_client, body)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    if field is not None:
        assert response.json()["errors"][0]["field"] == field
    assert written() == before
    assert not BankBulkRow.objects.exists()


def test_a_body_that_is_too_large_is_refused(api, bank_client, person, monkeypatch):
    monkeypatch.setattr(bulk_api, "MAX_BODY_BYTES", 100)
    before = written()
    response = _post(api, bank_client, {"changes": [change("CPR", person.id_number, DANISH)] * 5})
    assert response.status_code == 413
    assert written() == before


def test_idempotency_key_replays_or_refuses(api, bank_client, person, run_jobs):
    body = {"changes": [change("CPR", person.id_number, DANISH)]}
    first = _post(api, bank_client, body, **{"Idempotency-Key": "k-1"})
    again = _post(api, bank_client, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert BankBulkJob.objects.count() == 1
    other = _post(
        api, bank_client, {"changes": [change("CPR", person.id_number, DANISH_2)]},
        **{"Idempotency-Key": "k-1"},
    )  # fmt: skip
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert BankBulkJob.objects.count() == 1


def _denied_clients(
    resolve_client: Client, payment_client: Callable[[str], Client], bank: Bank
) -> dict[str, tuple[Client | None, int]]:
    inactive = make_client(ApiClient.Kind.BANK, "bank", bank=bank)
    ApiClient.objects.filter(pk=inactive.api_client.pk).update(is_active=False)
    wrong_scope = make_client(ApiClient.Kind.BANK, "resolve", bank=bank)
    return {
        "anonymous": (None, 401),
        "authority": (resolve_client, 403),
        "payment system": (payment_client("active"), 403),
        "inactive bank client": (inactive, 403),
        "bank client without scope bank": (wrong_scope, 403),
    }


def test_only_bank_clients_may_report(
    api,
    login,
    citizen_in_register,
    another_citizen,
    nk_caseworker,
    outsider,
    operator,
    resolve_client,
    payment_client,
    bank,
    person,
):
    body = {"changes": [change("CPR", person.id_number, DANISH)]}
    for who, (client, status) in _denied_clients(resolve_client, payment_client, bank).items():
        before = written()
        response = _post(api, client, body)
        assert response.status_code == status, who
        assert written() == before, who
    # Logged-in people (sessions) are not API clients at all, whatever their roles.
    for user in (citizen_in_register, another_citizen, nk_caseworker, outsider, operator):
        before = written()
        assert _post(login(user), None, body).status_code == 401, user.username
        assert written() == before, user.username
    assert not BankBulkJob.objects.exists()


def test_a_bank_sees_only_its_own_jobs(
    api, bank_client, other_bank, resolve_client, payment_client, bank, person
):
    job = bank_bulk_submit(
        actor=bank_client.api_client, changes=[change("CPR", person.id_number, DANISH)]
    ).job
    same_bank = make_client(ApiClient.Kind.BANK, "bank", bank=bank)
    other = make_client(ApiClient.Kind.BANK, "bank", bank=other_bank)
    url = f"{URL}/{job.pk}"
    assert api.get(url, headers=same_bank.headers).status_code == 200
    assert api.get(url, headers=other.headers).status_code == 404
    assert api.get(f"{URL}/{job.pk + 1}", headers=bank_client.headers).status_code == 404
    assert api.get(url).status_code == 401
    assert api.get(url, headers=resolve_client.headers).status_code == 403


def test_paging_rejects_a_bad_cursor(api, bank_client, person):
    job = bank_bulk_submit(
        actor=bank_client.api_client, changes=[change("CPR", person.id_number, DANISH)]
    ).job
    url = f"{URL}/{job.pk}"
    assert api.get(url, {"cursor": "%%%"}, headers=bank_client.headers).status_code == 422
    assert api.get(url, {"page_size": "0"}, headers=bank_client.headers).status_code == 422
    assert api.get(url, {"result": "maybe"}, headers=bank_client.headers).status_code == 422


def test_statements_do_not_grow_with_the_rows(bank_client, person, other_person):
    """O(1) SQL statements per job (ARCHITECTURE.md section 4): the rows go in with one COPY
    and are applied set-wise, so 3 changes and 600 take the same statements."""
    from django.test.utils import CaptureQueriesContext

    def statements(changes: list[Any]) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as submitted:
            job = bank_bulk_submit(actor=bank_client.api_client, changes=changes).job
        with CaptureQueriesContext(connection) as applied:
            bank_bulk_apply(job_id=job.pk)
        assert BankBulkRow.objects.filter(job=job).count() == len(changes)
        return len(submitted), len(applied)

    few = [change("CPR", person.id_number, DANISH), change("CPR", OTHER_CPR, DANISH_2)]
    many = [change("CPR", person.id_number, DANISH_2), change("CPR", "0101011", DANISH)] * 300
    assert statements([*few, change("CPR", "3102901234", DANISH)]) == statements(many)
