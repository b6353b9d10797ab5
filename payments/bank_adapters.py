"""How bank files reach the banks and their answers come back: one interface, chosen by
``NEMKONTO_BANK_ADAPTER`` (ARCHITECTURE.md section 4, Forward).

The pipeline writes every file into the bank's archive (``NEMKONTO_BANK_DIR/<reg>/files``, what
the banks' API serves) and then hands it to the adapter; it asks the adapter for the answers
waiting and tells it when one has been applied. The file-drop adapter is the one in use: an
outbox and an inbox folder per bank (``NEMKONTO_BANK_DIR/<reg>/outbox`` and ``inbox``), which a
bank's transfer job, or the simulated bank (``manage.py simulate_bank``), works on. Another
transport (SFTP, a bank's web service) is another class with the same three methods.

Test files (payments of agreements in test, ``payments.test_script``) never go to a bank: the
pipeline hands them to ``SimulatedBankAdapter``, which answers them at once with the simulated
bank, in folders of their own (``NEMKONTO_BANK_DIR/test/<reg>``) that no bank's transfer job
reads.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Bank


def bank_dir(bank: Bank) -> Path:
    """The bank's folder under ``NEMKONTO_BANK_DIR``."""
    return Path(settings.NEMKONTO_BANK_DIR) / bank.reg


def test_bank_dir(bank: Bank) -> Path:
    """The folder of the bank's test files and their simulated answers."""
    return Path(settings.NEMKONTO_BANK_DIR) / "test" / bank.reg


class BankAdapter(Protocol):
    def deliver(self, bank: Bank, path: Path) -> None:
        """Hand a written, validated pain.001 file to the bank."""

    def answers(self, bank: Bank) -> Iterator[Path]:
        """The bank's answer files (pain.002, camt.054) waiting to be applied."""

    def applied(self, bank: Bank, path: Path) -> None:
        """The answer has been applied (it must not be offered again)."""


def is_camt054(path: Path) -> bool:
    """Whether an answer file is a camt.054 (else a pain.002), by the namespace in its head."""
    with path.open("rb") as file:
        return b"camt.054" in file.read(4096)


class FileDropAdapter:
    """Folders per bank: ``outbox`` (our files), ``inbox`` (answers), ``processed`` (applied)."""

    def folder(self, bank: Bank) -> Path:
        return bank_dir(bank)

    def deliver(self, bank: Bank, path: Path) -> None:
        # A hard link: the archive keeps the file whatever the bank's side does with its copy.
        outbox = self.folder(bank) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / path.name).unlink(missing_ok=True)
        os.link(path, outbox / path.name)

    def answers(self, bank: Bank) -> Iterator[Path]:
        inbox = self.folder(bank) / "inbox"
        if not inbox.is_dir():
            return iter(())
        # Statuses first: payment systems wait for the pain.002, not for the bookings.
        return iter(sorted(inbox.glob("*.xml"), key=lambda p: (is_camt054(p), p.name)))

    def applied(self, bank: Bank, path: Path) -> None:
        processed = self.folder(bank) / "processed"
        processed.mkdir(parents=True, exist_ok=True)
        os.replace(path, processed / path.name)


class SimulatedBankAdapter(FileDropAdapter):
    """Test files: answered at once by the simulated bank (every transaction accepted, except
    those whose text asks for a rejection, ``payments.iso20022.simulated_bank``), the answers
    left in the test inbox for ``bank_answers_collect``."""

    def folder(self, bank: Bank) -> Path:
        return test_bank_dir(bank)

    def deliver(self, bank: Bank, path: Path) -> None:
        from payments.iso20022.simulated_bank import answer_pain001

        answer_pain001(
            path, self.folder(bank) / "inbox", reject_rate=0.0, seed="test", now=timezone.now()
        )


def bank_adapter(*, test: bool = False) -> BankAdapter:
    """The configured adapter; for test files always the simulated bank."""
    if test:
        return SimulatedBankAdapter()
    adapter: BankAdapter = import_string(settings.NEMKONTO_BANK_ADAPTER)()
    return adapter
