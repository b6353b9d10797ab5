"""Pieces every registry service shares: who is acting, parsing input, finding the recipient."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import ApiClient, Authority, Bank, User
from nemkonto.errors import NotFound, PermissionDenied, ValidationFailed
from registry.identifiers import IdentifierError, IdKind, parse_account, parse_recipient_id
from registry.models import Channel, NemKonto, Recipient, SpecificAccount, StoredAccount


@dataclass(frozen=True)
class Who:
    """The author of a change as it is recorded on the version, in the audit and the notice."""

    channel: Channel
    label: str
    user: User | None = None
    authority: Authority | None = None
    bank: Bank | None = None


def who_user(user: User, channel: Channel, authority: Authority | None = None) -> Who:
    return Who(channel=channel, label=user.get_username(), user=user, authority=authority)


def who_bank(client: ApiClient) -> Who:
    bank = client.bank
    assert bank is not None
    return Who(channel=Channel.BANK, label=f"bank {bank.reg}", bank=bank)


SYSTEM = Who(channel=Channel.SYSTEM, label="system")


def version_end(
    version: NemKonto | SpecificAccount, *, state: str, who: Who, at: datetime, reason: str
) -> None:
    """Write the end of an account version: only its life-cycle fields (the triggers allow no
    other change)."""
    version.state = state
    version.ended_at = at
    version.end_reason = reason
    version.ended_by = who.user
    version.ended_by_label = who.label
    version.ended_channel = who.channel
    version.save(
        update_fields=[
            "state",
            "ended_at",
            "end_reason",
            "ended_by",
            "ended_by_label",
            "ended_channel",
        ]
    )


def identifier_error(error: IdentifierError, prefix: str) -> ValidationFailed:
    """An identifier's error as the service error, the field named under ``prefix``."""
    field = prefix if error.field == prefix.rsplit(".", 1)[-1] else f"{prefix}.{error.field}"
    if not prefix:
        field = error.field
    return ValidationFailed(str(error), field=field, code=error.code)


def parse_recipient(id_type: str, id_number: str, *, prefix: str = "recipient") -> tuple[str, str]:
    """``(type, number)`` normalised; raises ValidationFailed naming ``prefix.type``/``.id``."""
    try:
        parsed = parse_recipient_id(id_type, id_number)
    except IdentifierError as error:
        raise identifier_error(error, prefix) from None
    return str(parsed.kind), parsed.number


def not_in_register(prefix: str = "recipient") -> NotFound:
    return NotFound(
        _("The ID is not in the CPR/CVR register."),
        field=f"{prefix}.id" if prefix else "id",
        code="not_in_register",
    )


def recipient_find(id_type: str, id_number: str, *, prefix: str = "recipient") -> Recipient:
    """The recipient with this ID; raises ValidationFailed (malformed) or NotFound (not in the
    register)."""
    kind, number = parse_recipient(id_type, id_number, prefix=prefix)
    recipient = Recipient.objects.filter(id_type=kind, id_number=number).first()
    if recipient is None:
        raise not_in_register(prefix)
    return recipient


def recipient_lock(recipient: Recipient) -> Recipient:
    """Lock the recipient's row: every change of one recipient's accounts is serialised on it."""
    return Recipient.objects.select_for_update().get(pk=recipient.pk)


def account_from_input(data: Mapping[str, Any] | None, *, prefix: str = "account") -> StoredAccount:
    """An account from the API's ``{"reg", "number"}`` or ``{"iban", "bic"}``, normalised.

    Raises ValidationFailed with the field path (``account.reg``, ``account.iban``...).
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            _("The account is missing: give reg.nr. and account number, or IBAN and BIC."),
            field=prefix,
            code="account_missing",
        )
    values = {
        key: str(data[key]) if data.get(key) is not None else None
        for key in ("reg", "number", "iban", "bic")
    }
    try:
        return StoredAccount.from_parsed(parse_account(**values))
    except IdentifierError as error:
        raise identifier_error(error, prefix) from None


def own_recipient(user: User) -> Recipient:
    """The recipient a citizen's or business's login acts as; raises PermissionDenied for other
    logins and NotFound when the register does not (or no longer) know the ID."""
    if user.kind not in (User.Kind.CITIZEN, User.Kind.BUSINESS) or not user.recipient_id:
        raise PermissionDenied(
            _("Only citizens and businesses logged in with their own ID can do this."),
            code="not_a_recipient_login",
        )
    recipient = Recipient.objects.filter(
        id_type=user.recipient_type, id_number=user.recipient_id
    ).first()
    if recipient is None:
        raise NotFound(_("Your ID is not in the CPR/CVR register."), code="not_in_register")
    return recipient


def require_citizen(user: User) -> Recipient:
    """The citizen's own recipient; businesses are refused (they only read, DOMAIN.md 4 and 5)."""
    recipient = own_recipient(user)
    if user.kind != User.Kind.CITIZEN or recipient.id_type != IdKind.CPR:
        raise PermissionDenied(
            _(
                "Businesses cannot change accounts on the portal: your bank reports your "
                "NemKonto, and the paying authority maintains specific accounts."
            ),
            code="business_read_only",
        )
    return recipient


def is_employee(user: Any) -> bool:
    return (
        isinstance(user, User)
        and user.is_active
        and user.kind == User.Kind.EMPLOYEE
        and user.authority_id is not None
    )
