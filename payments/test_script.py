"""The test script (*test-drejebog*) of a connection agreement in test (DOMAIN.md section 7).

Before a new payment system goes live, it shows with test batches sent under its agreement in
test (test mode: the batches go through the whole pipeline, but their bank files only reach the
simulated bank and their recipients are never told) that it handles every scenario below:

- each return code 0, 1, 2, 7, 8 and 9 *produced and received*: a test payment got the code, and
  the payment system fetched it: it read the batch's status, its payments or its return answers
  while a payment had the code (``Batch.return_codes_fetched``, written by those endpoints through
  ``payments.services.test_mode``), or a batch-status callback listing the code was delivered;
- a stopped payment; a complete payment (account given) and an incomplete one (account attached
  by NemKonto), each accepted (code 0 or 8);
- a batch sent as a file (CSV or pain.001) and one sent as JSON.

Everything is computed from the agreement's test batches since it went into test by two
aggregate queries; nothing is ticked by hand. ``agreement_advance`` refuses to make the agreement
active until every scenario has passed.

(The module's name starts with ``test_`` because that is what the domain calls it; ``__test__``
keeps pytest from collecting it, or the functions it exports into a test module.)
"""

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Authority
from payments.models import Batch, BatchFormat, CallbackDelivery, ConnectionAgreement, Payment

__test__ = False

BATCH = Batch._meta.db_table
PAYMENT = Payment._meta.db_table
DELIVERY = CallbackDelivery._meta.db_table

RETURN_CODES = (0, 1, 2, 7, 8, 9)
TITLES: dict[str, Promise] = {
    "code_0": gettext_lazy("Return code 0 (accepted) produced and received"),
    "code_1": gettext_lazy(
        "Return code 1 (recipient ID not in the register) produced and received"
    ),
    "code_2": gettext_lazy("Return code 2 (formal error) produced and received"),
    "code_7": gettext_lazy("Return code 7 (no NemKonto or specific account) produced and received"),
    "code_8": gettext_lazy("Return code 8 (received by the bank) produced and received"),
    "code_9": gettext_lazy("Return code 9 (error in the bank) produced and received"),
    "stopped": gettext_lazy("A payment stopped before it was forwarded"),
    "complete": gettext_lazy("A complete payment (account given) accepted"),
    "incomplete": gettext_lazy("An incomplete payment (account attached by NemKonto) accepted"),
    "file_upload": gettext_lazy("A batch sent as a file (CSV or pain.001)"),
    "json": gettext_lazy("A batch sent as JSON"),
}
SCENARIO_CODES = tuple(TITLES)


@dataclass(frozen=True)
class Scenario:
    """One scenario of the test script: passed or not, and what shows it."""

    code: str
    title: str
    passed: bool
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgreementTestScript:
    """An agreement in test with its test script, for the pages that list an authority's
    agreements."""

    agreement: ConnectionAgreement
    scenarios: list[Scenario]

    @property
    def complete(self) -> bool:
        return all(s.passed for s in self.scenarios)

    @property
    def passed_count(self) -> int:
        return sum(s.passed for s in self.scenarios)


# The agreement's test batches since it went into test.
_BATCHES = f"""
    batches AS MATERIALIZED (
        SELECT b.id, b.source_format, b.received_at, b.return_codes_fetched
        FROM {BATCH} b
        WHERE b.agreement_id = %(agreement)s AND b.is_test AND b.received_at >= %(since)s
    )"""  # noqa: S608 - table names from model metadata

# Per return code: the first batch whose answers were fetched with it, the first delivered
# batch-status callback listing it, and the first payment that has it (code 0: or had it, before
# the bank's answer replaced it by 8 or 9).
_CODES_SQL = f"""
WITH {_BATCHES}
SELECT c.code,
       (SELECT b.id::text FROM batches b
        WHERE b.return_codes_fetched @> to_jsonb(c.code)
        ORDER BY b.received_at LIMIT 1) AS fetched_in,
       (SELECT d.batch_id::text FROM {DELIVERY} d JOIN batches b ON b.id = d.batch_id
        WHERE d.event = 'batch_status' AND d.state = 'delivered'
          AND d.payload -> 'return_codes' ? c.code::text
        ORDER BY d.delivered_at LIMIT 1) AS delivered_in,
       (SELECT p.batch_id::text || ' ' || p.reference FROM {PAYMENT} p
        JOIN batches b ON b.id = p.batch_id
        WHERE p.return_code = c.code OR (c.code = 0 AND p.return_code IN (8, 9))
        ORDER BY p.id LIMIT 1) AS produced_by
FROM unnest(%(codes)s::int[]) AS c(code)
ORDER BY c.code
"""  # noqa: S608 - table names from model metadata

# The other scenarios: the first payment or batch that shows each.
_OTHERS_SQL = f"""
WITH {_BATCHES}
SELECT
    (SELECT b.id::text FROM batches b WHERE b.source_format = ANY(%(files)s)
     ORDER BY b.received_at LIMIT 1),
    (SELECT b.id::text FROM batches b WHERE b.source_format = %(json)s
     ORDER BY b.received_at LIMIT 1),
    (array_agg(p.batch_id::text || ' ' || p.reference ORDER BY p.id)
        FILTER (WHERE p.status = 'stopped'))[1],
    (array_agg(p.batch_id::text || ' ' || p.reference ORDER BY p.id)
        FILTER (WHERE p.account_source = 'given' AND p.return_code IN (0, 8)))[1],
    (array_agg(p.batch_id::text || ' ' || p.reference ORDER BY p.id)
        FILTER (WHERE p.account_source IN ('specific', 'nemkonto')
                AND p.return_code IN (0, 8)))[1]
FROM batches b
LEFT JOIN {PAYMENT} p ON p.batch_id = b.id
"""  # noqa: S608 - table names from model metadata


def _short(batch_id: str) -> str:
    """A batch's id as shown in evidence: its first eight characters."""
    return batch_id[:8]


def _payment_evidence(found: str | None) -> str:
    if not found:
        return ""
    batch_id, _space, reference = found.partition(" ")
    return _("Payment %(reference)s in batch %(batch)s") % {
        "reference": reference,
        "batch": _short(batch_id),
    }


def _batch_evidence(batch_id: str | None) -> str:
    return _("Batch %(batch)s") % {"batch": _short(batch_id)} if batch_id else ""


def _scenario(code: str, passed: bool, evidence: str) -> Scenario:
    return Scenario(code=code, title=str(TITLES[code]), passed=passed, evidence=evidence)


def _code_scenario(
    code: int, fetched_in: str | None, delivered_in: str | None, produced_by: str | None
) -> Scenario:
    if fetched_in:
        evidence = _("Batch %(batch)s: fetched by the payment system") % {
            "batch": _short(fetched_in)
        }
    elif delivered_in:
        evidence = _("Batch %(batch)s: callback delivered") % {"batch": _short(delivered_in)}
    elif produced_by:
        evidence = _("%(payment)s; not yet fetched by the payment system") % {
            "payment": _payment_evidence(produced_by)
        }
    else:
        evidence = ""
    return _scenario(f"code_{code}", bool(fetched_in or delivered_in), evidence)


def _since(agreement: ConnectionAgreement) -> datetime.datetime:
    return agreement.test_started_at or datetime.datetime.min.replace(tzinfo=datetime.UTC)


def test_script(agreement: ConnectionAgreement) -> list[Scenario]:
    """The agreement's scenarios in a fixed order (``SCENARIO_CODES``), each passed or not with
    its evidence (which batch or payment shows it, or why it is not passed yet). Two queries.

    Not scoped: callers decide who may see it (operators, the authority's administrators).
    """
    params: dict[str, Any] = {"agreement": agreement.pk, "since": _since(agreement)}
    with connection.cursor() as cursor:
        cursor.execute(_CODES_SQL, {**params, "codes": list(RETURN_CODES)})
        codes = [_code_scenario(*row) for row in cursor.fetchall()]
        cursor.execute(
            _OTHERS_SQL,
            {
                **params,
                "files": [BatchFormat.CSV.value, BatchFormat.PAIN001.value],
                "json": BatchFormat.JSON.value,
            },
        )
        file_batch, json_batch, stopped, complete, incomplete = cursor.fetchone()
    return [
        *codes,
        _scenario("stopped", bool(stopped), _payment_evidence(stopped)),
        _scenario("complete", bool(complete), _payment_evidence(complete)),
        _scenario("incomplete", bool(incomplete), _payment_evidence(incomplete)),
        _scenario("file_upload", bool(file_batch), _batch_evidence(file_batch)),
        _scenario("json", bool(json_batch), _batch_evidence(json_batch)),
    ]


def test_script_missing(agreement: ConnectionAgreement) -> list[Scenario]:
    """The scenarios that have not passed yet."""
    return [s for s in test_script(agreement) if not s.passed]


def test_script_complete(agreement: ConnectionAgreement) -> bool:
    """Whether every scenario of the agreement's test script has passed."""
    return not test_script_missing(agreement)


def test_scripts_for(authority: Authority) -> list[AgreementTestScript]:
    """The authority's agreements in test, by payment system, each with its test script.

    Not scoped: callers decide who may see it (the authority's local administrator, operators).
    """
    agreements = (
        ConnectionAgreement.objects.filter(
            authority=authority, status=ConnectionAgreement.Status.IN_TEST
        )
        .select_related("authority", "payment_system")
        .order_by("payment_system__name")
    )
    return [AgreementTestScript(agreement=a, scenarios=test_script(a)) for a in agreements]


test_script.__test__ = False  # type: ignore[attr-defined]
test_script_missing.__test__ = False  # type: ignore[attr-defined]
test_script_complete.__test__ = False  # type: ignore[attr-defined]
test_scripts_for.__test__ = False  # type: ignore[attr-defined]
