"""``manage.py simulate_bank [--once] [--reject-rate 0.01]``: the simulated bank.

It plays every bank's part of the file-drop adapter: it takes the pain.001 files waiting in each
bank's outbox (``NEMKONTO_BANK_DIR/<reg>/outbox``), answers each with a pain.002 (accepted or
rejected per transaction, with ISO reasons) and a camt.054 (booked) in the bank's inbox, and
moves the file to ``delivered``. A file whose message id it took before is refused (moved to
``duplicates``), as banks refuse a duplicate message id. It never touches the database: the
system applies the answers (``bank_answers_collect``, every few seconds by Celery beat).
"""

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


def answer_waiting_files(root: Path, *, reject_rate: float, seed: str) -> list[dict[str, Any]]:
    """Answer every waiting pain.001 under ``root``; returns one summary per file."""
    from payments.iso20022.simulated_bank import answer_pain001

    answered = []
    for outbox in sorted(root.glob("*/outbox")):
        inbox, delivered = outbox.parent / "inbox", outbox.parent / "delivered"
        inbox.mkdir(exist_ok=True)
        delivered.mkdir(exist_ok=True)
        for path in sorted(outbox.glob("*.xml")):
            if (delivered / path.name).exists():
                # A message id taken before (sent again after the sender crashed before it
                # recorded the delivery): refused, as banks refuse a duplicate message id.
                duplicates = outbox.parent / "duplicates"
                duplicates.mkdir(exist_ok=True)
                os.replace(path, duplicates / f"{path.name}.{time.time_ns()}")
                answered.append({"bank": outbox.parent.name, "file": path.name, "duplicate": True})
                continue
            answer = answer_pain001(
                path, inbox, reject_rate=reject_rate, seed=seed, now=timezone.now()
            )
            os.replace(path, delivered / path.name)
            answered.append(
                {
                    "bank": outbox.parent.name,
                    "file": path.name,
                    "accepted": answer.accepted,
                    "rejected": answer.rejected,
                }
            )
    return answered


class Command(BaseCommand):
    help = "The simulated bank: answer the pain.001 files waiting for each bank."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="answer what waits, then stop")
        parser.add_argument(
            "--reject-rate", type=float, default=0.0, help="share of transactions to reject"
        )
        parser.add_argument("--seed", default="nemkonto", help="seed of the rejections")
        parser.add_argument("--every", type=float, default=2.0, help="seconds between looks")
        parser.add_argument("--json", action="store_true", help="print JSON lines")

    def handle(self, *args: Any, **options: Any) -> None:
        rate = options["reject_rate"]
        if not 0.0 <= rate <= 1.0:
            raise CommandError("--reject-rate must be between 0 and 1.")
        root = Path(settings.NEMKONTO_BANK_DIR)
        while True:
            for entry in answer_waiting_files(root, reject_rate=rate, seed=options["seed"]):
                if options["json"]:
                    self.stdout.write(json.dumps(entry))
                elif entry.get("duplicate"):
                    self.stdout.write(
                        f"bank {entry['bank']}: refused {entry['file']} (message id taken before)"
                    )
                else:
                    self.stdout.write(
                        f"bank {entry['bank']}: answered {entry['file']} "
                        f"({entry['accepted']} accepted, {entry['rejected']} rejected)"
                    )
            if options["once"]:
                return
            time.sleep(options["every"])
