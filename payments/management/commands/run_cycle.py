"""``manage.py run_cycle [--at 2026-12-01T06:00+01:00] [--json]``: the forwarding cycle, now.

For operations and demos (API.md, Operator commands): batches still waiting for the worker are
processed first, then the cycle of the cut-off at or after ``--at`` (default: now) claims every
payment due by its value date and writes the bank files, each validated against the XSD.
"""

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from payments import pipeline
from payments.models import BankFile, Batch


def _moment(value: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--at {value!r} is not an ISO 8601 time (e.g. 2026-12-01T06:00+01:00)."
        ) from None
    if moment.tzinfo is None:
        raise CommandError("--at needs a UTC offset (e.g. 2026-12-01T06:00+01:00).")
    return moment


class Command(BaseCommand):
    help = "Run the forwarding cycle now (or as if at --at) and write the bank files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", metavar="TIME", help="run as if at this moment (ISO 8601)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        at = _moment(options["at"]) if options["at"] else timezone.now()
        waiting = Batch.objects.filter(
            status__in=[Batch.Status.RECEIVED, Batch.Status.PROCESSING]
        ).values_list("pk", flat=True)
        processed = sum(pipeline.batch_process(str(pk)) for pk in list(waiting))
        result = pipeline.cycle_run(at=at)
        for file_id in result.file_ids:
            pipeline.bank_file_write(file_id)
        files = list(BankFile.objects.filter(pk__in=result.file_ids).select_related("bank"))
        described = [
            {
                "message_id": f.message_id,
                "bank": f.bank.reg,
                "transactions": f.transaction_count,
                "control_sum": f"{f.control_sum_ore // 100}.{f.control_sum_ore % 100:02d}",
                "path": f.path,
            }
            for f in files
        ]
        summary: dict[str, Any] = {
            "at": at.isoformat(),
            "cut_off_day": result.cut_off_day.isoformat(),
            "value_date": result.value_date.isoformat(),
            "batches_processed": processed,
            "payments_forwarded": result.payments,
            "payments_reattached": result.reattached,
            "files": described,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"Cycle of the cut-off {summary['cut_off_day']} 06:00, value date "
            f"{summary['value_date']}: {result.payments} payments in {len(files)} files"
        )
        for entry in described:
            self.stdout.write(
                f"  {entry['message_id']} bank {entry['bank']}: {entry['transactions']} "
                f"payments, {entry['control_sum']} DKK -> {entry['path']}"
            )
