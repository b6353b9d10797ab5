"""How the citizen pages word things: bank names, who made a change, the events of the change
log and the confirmation that a notice went out."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from schwifty import registry as schwifty_registry

from accounts.models import Bank
from registry.models import AccountKind, NemKonto, Notice, SpecificAccount, StoredAccount
from registry.selectors import ChangeEvent
from registry.wording import describe_author

# The events of ``registry.selectors.changes_of_me`` (ChangeEvent.event).
EVENTS = {
    "changed": gettext_lazy("Changed"),
    "created": gettext_lazy("Created"),
    "requested": gettext_lazy("Registered, waiting for activation or review"),
    "activated": gettext_lazy("Put in force"),
    "deleted": gettext_lazy("Deleted"),
    "cancelled": gettext_lazy("Cancelled before it took effect"),
    "expired": gettext_lazy("Expired (end date passed)"),
}
OBJECTS = {
    "nemkonto": gettext_lazy("NemKonto"),
    "specific_account": gettext_lazy("Specific account"),
}


def bank_name(account: StoredAccount) -> str:
    """The bank that holds the account: our bank table, else the bank registry (by reg.nr.),
    or the BIC of a foreign account."""
    if account.kind == AccountKind.FOREIGN:
        return _("BIC %(bic)s") % {"bic": account.bic}
    known = Bank.objects.filter(reg=account.reg).values_list("name", flat=True).first()
    if known:
        return known
    banks = schwifty_registry.get_banks_by_code("DK", account.reg)
    return str(banks[0].name) if banks else ""


def author(version: NemKonto | SpecificAccount) -> str:
    """Who made the change, as the recipient reads it ("your bank (bank 3000)", ...)."""
    authority = version.authority.name if version.authority else None
    return describe_author(version.channel, version.actor_label, authority)


def ender(version: NemKonto | SpecificAccount) -> str:
    """Who ended the version (deleted it, replaced it or cancelled it)."""
    if not version.ended_channel:
        return ""
    authority = version.authority.name if version.authority else None
    return describe_author(version.ended_channel, version.ended_by_label, authority)


@dataclass(frozen=True)
class VersionRow:
    """A version of the history with who made it and who ended it, in words."""

    version: NemKonto
    author: str
    ender: str


def version_rows(versions: Iterable[NemKonto]) -> list[VersionRow]:
    return [VersionRow(version, author(version), ender(version)) for version in versions]


@dataclass(frozen=True)
class ChangeRow:
    """A change of the recipient's accounts (``registry.selectors.ChangeEvent``) in words."""

    event: ChangeEvent
    what: str
    label: str
    author: str


def change_rows(events: Iterable[ChangeEvent]) -> list[ChangeRow]:
    return [
        ChangeRow(
            event=event,
            what=str(OBJECTS.get(event.object, event.object)),
            label=str(EVENTS.get(event.event, event.event)),
            author=describe_author(event.channel, event.by, event.authority),
        )
        for event in events
    ]


def notice_confirmation(notices: Iterable[Notice]) -> str:
    """One sentence per notice a change queued: where it went."""
    sentences = []
    for notice in notices:
        if notice.channel == Notice.Channel.EMAIL:
            sentences.append(
                _("We have sent you a notice about it by e-mail to %(address)s.")
                % {"address": notice.to_address}
            )
        elif notice.channel == Notice.Channel.DIGITAL_POST:
            sentences.append(_("We have sent you a notice about it by Digital Post."))
        else:
            sentences.append(
                _(
                    "The previous account's bank (%(bank)s) is told as well, so whoever used "
                    "that account hears of the change."
                )
                % {"bank": notice.to_address}
            )
    return " ".join(sentences)
