"""The demo payment batch: what a payment system of the demo municipality sends, through the
same service as the API, so that ``make run`` shows every outcome (code 0 to the NemKonto and to
specific accounts, 1, 2 and 7) once the worker has processed it and a cycle has run."""

import hashlib
import io
import json
from typing import Any

from django.utils import timezone

from accounts.models import ApiClient
from payments.calendar import value_date_for_request
from payments.intake import SpooledBody
from payments.models import BankAgreement, Batch, BatchFormat, ConnectionAgreement
from payments.services.batches import batch_submit
from registry.models import Recipient

IDEMPOTENCY_KEY = "demo-batch-1"


def _payment(reference: str, cpr_or_cvr: str, benefit: str, amount: str, text: str) -> dict:
    kind = "CPR" if len(cpr_or_cvr.replace("-", "")) == 10 else "CVR"
    return {
        "reference": reference,
        "recipient": {"type": kind, "id": cpr_or_cvr},
        "benefit": benefit,
        "amount": amount,
        "text": text,
    }


# Loaded once: a later run (another day) answers with the first batch instead of a new one.
def demo_batch_submit(
    *, client_id: str, bank_agreement_number: str, los_unit: str
) -> dict[str, Any]:
    """Submit the demo batch once (its Idempotency-Key replays it); returns the 202 answer."""
    client = ApiClient.objects.select_related("authority", "payment_system").get(
        application__client_id=client_id
    )
    agreement = ConnectionAgreement.objects.get(
        authority=client.authority, payment_system=client.payment_system
    )
    bank_agreement = BankAgreement.objects.get(number=bank_agreement_number)
    assert client.authority is not None
    earlier = Batch.objects.filter(api_client=client, idempotency_key=IDEMPOTENCY_KEY).first()
    if earlier is not None:
        return earlier.answer
    named = ["1203852331", "2706721970", "0411903154", "3005582666", "0802014049", "1908640404"]
    synthetic_cpr = list(
        Recipient.objects.filter(id_type="CPR")
        .exclude(id_number__in=named)
        .order_by("pk")
        .values_list("id_number", flat=True)[:40]
    )
    payments = [
        _payment("DEMO-0001", "1203852331", "KONT", "6789.00", "Kontanthjælp december"),
        _payment("DEMO-0002", "2706721970", "KONT", "4512.50", "Kontanthjælp december"),
        _payment("DEMO-0003", "0411903154", "BOLIG", "1850.00", "Boligstøtte december"),
        _payment("DEMO-0004", "3005582666", "PENS", "950.00", "Personligt tillæg"),
        _payment("DEMO-0005", "0802014049", "BOLIG", "2100.00", "Boligstøtte december"),
        _payment("DEMO-0006", "1908640404", "KONT", "3000.00", "Kontanthjælp december"),
        _payment("DEMO-0007", "52100003", "KONT", "12500.00", "Tilskud"),
        # Not in the register (return code 1) and a formal error (return code 2).
        _payment("DEMO-0008", "0101010101", "KONT", "100.00", "Ukendt modtager"),
        _payment("DEMO-0009", "3213901234", "KONT", "100.00", "Forkert CPR-nummer"),
        *(
            _payment(f"DEMO-{10 + i:04d}", cpr, "KONT", f"{1000 + 37 * i}.00", "Kontanthjælp")
            for i, cpr in enumerate(synthetic_cpr[:40])
        ),
    ]
    requested = max(bank_agreement.pays_from, value_date_for_request(timezone.now(), None))
    raw = json.dumps(
        {
            "authority": client.authority.code,
            "los_unit": los_unit,
            "bank_agreement": bank_agreement_number,
            "requested_value_date": requested.isoformat(),
            "payments": payments,
        }
    ).encode()
    body = SpooledBody(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), len(raw))
    return batch_submit(
        client=client,
        agreement=agreement,
        body=body,
        source_format=BatchFormat.JSON,
        params={},
        idempotency_key=IDEMPOTENCY_KEY,
    ).answer
