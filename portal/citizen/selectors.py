"""Reads of the citizen pages that the registry's selectors do not already give: the letter of a
waiting change, and the notices the services wrote to the recipient."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet

from registry import selectors
from registry.models import ActivationLetter, NemKonto, Notice, Recipient


@dataclass(frozen=True)
class NemKontoState:
    """What the overview shows: the NemKonto in force, a change waiting for activation or
    review, the activation letter of a caseworker's waiting change (for its deadline), and the
    version the recipient deleted when that is the latest word."""

    current: NemKonto | None
    waiting: NemKonto | None
    letter: ActivationLetter | None
    deleted: NemKonto | None


def nemkonto_state(*, recipient: Recipient) -> NemKontoState:
    current = selectors.nemkonto_at(recipient=recipient)
    waiting = selectors.nemkonto_waiting_at(recipient=recipient)
    letter = (
        ActivationLetter.objects.filter(nemkonto=waiting).first()
        if waiting is not None and waiting.state == NemKonto.State.PENDING
        else None
    )
    latest = selectors.nemkonto_history(recipient=recipient).exclude(state=NemKonto.State.CANCELLED)
    last = latest.first() if current is None else None
    deleted = last if last is not None and last.end_reason == NemKonto.EndReason.DELETED else None
    return NemKontoState(current=current, waiting=waiting, letter=letter, deleted=deleted)


def notices_of(*, recipient: Recipient) -> QuerySet[Notice]:
    """Every notice written to the recipient about their accounts, newest first."""
    return Notice.objects.filter(recipient=recipient).order_by("-created_at", "-id")


def notices_since(*, recipient: Recipient, since: datetime.datetime) -> list[Notice]:
    """The notices a change written after ``since`` queued (the confirmation names them)."""
    return list(notices_of(recipient=recipient).filter(created_at__gte=since).reverse())
