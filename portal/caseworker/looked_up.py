"""The recipients a caseworker has looked up in this session.

A recipient's pages are addressed by the register entry's key, never by CPR number (an address
ends up in logs and browser history). A page opens only for a recipient the caseworker looked up
with a stated purpose in the same session: that look-up is the one logged, and the address of
anyone else answers 404. The session ends with the login.
"""

import datetime
from dataclasses import dataclass

from django.http import Http404, HttpRequest
from django.utils import timezone

from portal.caseworker.selectors import recipients_by_pk
from registry.identifiers import IdKind, RecipientId
from registry.models import Recipient

SESSION_KEY = "caseworker_looked_up"
LIMIT = 20  # the most recent look-ups kept


@dataclass(frozen=True)
class LookedUp:
    recipient: Recipient
    purpose: str
    at: datetime.datetime

    @property
    def formatted_id(self) -> str:
        """The ID as people write it (a CPR number as DDMMYY-SSSS)."""
        return RecipientId(IdKind(self.recipient.id_type), self.recipient.id_number).formatted


def remember(request: HttpRequest, recipient: Recipient, purpose: str) -> None:
    """Record a logged look-up of ``recipient`` in the session (most recent last)."""
    entries = [e for e in request.session.get(SESSION_KEY, []) if e["pk"] != recipient.pk]
    entries.append({"pk": recipient.pk, "purpose": purpose, "at": timezone.now().isoformat()})
    request.session[SESSION_KEY] = entries[-LIMIT:]


def looked_up_list(request: HttpRequest) -> list[LookedUp]:
    """This session's look-ups, most recent first."""
    entries = request.session.get(SESSION_KEY, [])
    recipients = recipients_by_pk([e["pk"] for e in entries])
    return [
        LookedUp(recipients[e["pk"]], e["purpose"], datetime.datetime.fromisoformat(e["at"]))
        for e in reversed(entries)
        if e["pk"] in recipients
    ]


def looked_up(request: HttpRequest, pk: int) -> LookedUp:
    """The recipient ``pk`` if it was looked up in this session; Http404 otherwise."""
    entry = next((e for e in request.session.get(SESSION_KEY, []) if e["pk"] == pk), None)
    recipient = recipients_by_pk([pk]).get(pk) if entry is not None else None
    if entry is None or recipient is None:
        raise Http404
    return LookedUp(recipient, entry["purpose"], datetime.datetime.fromisoformat(entry["at"]))
