"""A bank connection that goes down and comes back: the file-drop adapter, refusing to work while
the file named by ``NEMKONTO_FAULTS_BANK_DOWN`` exists, as a bank's transfer service that is
unreachable. Selected with ``NEMKONTO_BANK_ADAPTER=tests.faults.unreachable_bank.UnreachableBank``.

The file lists the operations that fail (``deliver``, ``answers``, ``applied``; empty means all
of them), and ``acknowledge``: the file reaches the bank, but the bank's acknowledgement is lost
and the delivery fails all the same. Every refused call is counted in ``<file>.refused``, so a
test can see the pipeline really tried.
"""

import os
from collections.abc import Iterator
from pathlib import Path

from accounts.models import Bank
from payments.bank_adapters import FileDropAdapter


class BankUnreachable(ConnectionError):
    pass


class UnreachableBank(FileDropAdapter):
    def _refuse_if_down(self, operation: str) -> None:
        switch = Path(os.environ["NEMKONTO_FAULTS_BANK_DOWN"])
        try:
            failing = switch.read_text().split()
        except FileNotFoundError:
            return
        if operation not in failing and (failing or operation == "acknowledge"):
            return
        with Path(f"{switch}.refused").open("a") as log:
            log.write(f"{operation}\n")
        raise BankUnreachable(f"the bank is unreachable ({operation})")

    def deliver(self, bank: Bank, path: Path) -> None:
        self._refuse_if_down("deliver")
        super().deliver(bank, path)
        self._refuse_if_down("acknowledge")

    def answers(self, bank: Bank) -> Iterator[Path]:
        self._refuse_if_down("answers")
        return super().answers(bank)

    def applied(self, bank: Bank, path: Path) -> None:
        self._refuse_if_down("applied")
        super().applied(bank, path)
