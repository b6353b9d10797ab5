"""Look-ups of recipients' accounts by authorities' API clients: one ID with details, or up to
10,000 IDs answered yes/no (API.md, Look-ups). Every CPR number looked up leaves one row in the
look-up log, in the look-up's own transaction; a look-up of an ID that is not in the register is
logged too (it is still a look-up of a person), and only then answered 404.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import ApiClient, Authority, User
from accounts.selectors import units_for
from nemkonto.errors import PermissionDenied, ValidationFailed
from payments.models import Benefit
from registry.identifiers import MASK, IdentifierError, IdKind, parse_recipient_id
from registry.models import LookupLog, NemKonto, Recipient, SpecificAccount
from registry.selectors import Resolution, account_resolve, specific_account_list
from registry.services.allowance import lookup_allowance_penalise, lookup_allowance_take
from registry.services.common import is_employee, not_in_register, parse_recipient
from registry.services.lookups import cpr_hashes, lookup_log_write, lookup_log_write_many
from registry.services.specific import may_maintain_specific_accounts

BULK_LIMIT = 10_000
BULK_PURPOSE = "bulk resolve"


def clean_purpose(purpose: str | None, *, required: bool = True, default: str = "") -> str:
    """Why the look-up is made (logged); raises ValidationFailed when required and missing."""
    purpose = (purpose or "").strip()
    if not purpose:
        if required:
            raise ValidationFailed(
                _("Say why you look the recipient up (purpose): every look-up is logged."),
                field="purpose",
                code="required",
            )
        purpose = default
    if len(purpose) > 200:
        raise ValidationFailed(
            _("The purpose can have at most 200 characters."), field="purpose", code="max_length"
        )
    if not purpose.isprintable():
        raise ValidationFailed(
            _("The purpose contains control characters."),
            field="purpose",
            code="control_characters",
        )
    return purpose


def client_authority(client: ApiClient) -> Authority:
    assert client.authority is not None, "look-up clients act for an authority"
    return client.authority


def benefit_for(authority: Authority, code: str | None) -> Benefit | None:
    """The authority's benefit with ``code`` (None when no code); ValidationFailed if unknown."""
    if code is None or code == "":
        return None
    printable = code.isprintable()  # a NUL could not even be looked for in PostgreSQL
    benefit = Benefit.objects.filter(authority=authority, code=code).first() if printable else None
    if benefit is None:
        raise ValidationFailed(
            _("The authority has no benefit %(code)s.") % {"code": code},
            field="benefit",
            code="unknown_benefit",
        )
    return benefit


@dataclass(frozen=True)
class Lookup:
    recipient: Recipient | None
    resolution: Resolution | None


@transaction.atomic
def _account_lookup(
    *,
    client: ApiClient,
    kind: str,
    number: str,
    benefit: Benefit | None,
    purpose: str,
) -> Lookup:
    authority = client_authority(client)
    recipient = Recipient.objects.filter(id_type=kind, id_number=number).first()
    resolution = (
        account_resolve(recipient=recipient, authority=authority, benefit=benefit)
        if recipient is not None
        else None
    )
    if kind == IdKind.CPR:
        lookup_log_write(
            channel=LookupLog.Channel.API,
            cpr=number,
            purpose=purpose,
            result=LookupLog.Result.FOUND if recipient else LookupLog.Result.NOT_FOUND,
            api_client=client,
            authority=authority,
        )
    return Lookup(recipient=recipient, resolution=resolution)


def account_lookup(
    *,
    client: ApiClient,
    id_type: str,
    id_number: str,
    benefit_code: str | None,
    purpose: str | None,
) -> tuple[Recipient, Resolution]:
    """One recipient's account as a payment from the client's authority would find it.

    Raises ValidationFailed (malformed ID, missing purpose, unknown benefit: nothing is logged)
    and NotFound (not in the register: the look-up is logged first).
    """
    kind, number = parse_recipient(id_type, id_number, prefix="")
    cleaned = clean_purpose(purpose)
    benefit = benefit_for(client_authority(client), benefit_code)
    lookup_allowance_take(caller=client)
    found = _account_lookup(
        client=client, kind=kind, number=number, benefit=benefit, purpose=cleaned
    )
    if found.recipient is None or found.resolution is None:
        lookup_allowance_penalise(caller=client)
        raise not_in_register("")
    return found.recipient, found.resolution


# --- Bulk ---------------------------------------------------------------------------------------

_NEMKONTO = NemKonto._meta.db_table
_SPECIFIC = SpecificAccount._meta.db_table
_RECIPIENT = Recipient._meta.db_table

# One statement for the whole request: the IDs arrive as two arrays, are joined to the register
# through its unique (id_type, id_number) index, and each live account is one probe of a partial
# unique index (one active NemKonto per recipient; one active specific account per key).
_BULK_SQL = f"""
WITH wanted AS (
    SELECT ord, id_type, id_number
    FROM unnest(%(types)s::varchar[], %(numbers)s::varchar[]) WITH ORDINALITY
        AS w(id_type, id_number, ord)
)
SELECT CASE
         WHEN r.id IS NULL THEN 'unknown_id'
         WHEN sa.id IS NOT NULL
           OR EXISTS (SELECT 1 FROM {_NEMKONTO} nk
                      WHERE nk.recipient_id = r.id AND nk.state = 'active')
         THEN 'yes'
         ELSE 'no'
       END,
       right(coalesce(nullif(sa.number, ''), sa.iban), 4)
FROM wanted
LEFT JOIN {_RECIPIENT} r ON r.id_type = wanted.id_type AND r.id_number = wanted.id_number
LEFT JOIN {_SPECIFIC} sa
       ON sa.recipient_id = r.id AND sa.benefit_id = %(benefit)s
      AND sa.authority_id = %(authority)s AND sa.state = 'active'
      AND (sa.end_date IS NULL OR sa.end_date >= %(today)s)
ORDER BY wanted.ord
"""  # noqa: S608 - table names from model metadata


@dataclass(frozen=True, slots=True)
class BulkAnswer:
    """``result`` (yes, no, unknown_id) and, when the payment would use one of the caller's own
    specific accounts, that account masked (the caller is entitled to what it registered)."""

    result: str
    own_specific: str | None


def parse_bulk_recipients(items: Any) -> list[tuple[str, str]]:
    """The IDs of a bulk request, normalised; raises ValidationFailed listing every bad entry
    with its path (``recipients[3].id``)."""
    if not isinstance(items, list):
        raise ValidationFailed(
            _("recipients must be a list of {type, id}."), field="recipients", code="not_a_list"
        )
    if len(items) > BULK_LIMIT:
        raise ValidationFailed(
            _("At most %(limit)d recipients per request.") % {"limit": BULK_LIMIT},
            field="recipients",
            code="too_many",
        )
    parsed: list[tuple[str, str]] = []
    errors: list[dict[str, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            errors.append(
                {
                    "field": f"recipients[{index}]",
                    "code": "invalid",
                    "message": str(_('Each recipient is {"type": ..., "id": "..."}.')),
                }
            )
            continue
        try:
            rid = parse_recipient_id(str(item.get("type", "")), item["id"])
        except IdentifierError as error:
            errors.append(
                {
                    "field": f"recipients[{index}].{error.field}",
                    "code": error.code,
                    "message": str(error),
                }
            )
            continue
        parsed.append((str(rid.kind), rid.number))
    if errors:
        first = errors[0]
        raise ValidationFailed(
            _("%(count)d recipient IDs are not valid; see the list of errors.")
            % {"count": len(errors)},
            code=first["code"],
            errors=errors,
        )
    return parsed


@transaction.atomic
def bulk_resolve(
    *,
    client: ApiClient,
    recipients: Sequence[tuple[str, str]],
    benefit: Benefit | None,
    purpose: str = BULK_PURPOSE,
    user: User | None = None,
) -> list[BulkAnswer]:
    """yes / no / unknown_id for each (normalised) ID, in order: ``yes`` when a payment from the
    client's authority (for ``benefit``) would find an account now.

    One SQL statement answers all IDs; one more writes one look-up log row per distinct CPR
    number (both set-based, in this transaction).
    """
    authority = client_authority(client)
    distinct = list(dict.fromkeys(recipients))
    with connection.cursor() as cursor:
        cursor.execute(
            _BULK_SQL,
            {
                "types": [kind for kind, _number in distinct],
                "numbers": [number for _kind, number in distinct],
                "benefit": benefit.pk if benefit is not None else None,
                "authority": authority.pk,
                "today": timezone.localdate(),
            },
        )
        answers = [
            BulkAnswer(result, MASK + tail if tail else None) for result, tail in cursor.fetchall()
        ]
    by_id = dict(zip(distinct, answers, strict=True))
    cprs = [
        (number, by_id[(kind, number)].result) for kind, number in distinct if kind == IdKind.CPR
    ]
    lookup_log_write_many(
        channel=LookupLog.Channel.API,
        hashes=cpr_hashes([number for number, _result in cprs]),
        results=[result for _number, result in cprs],
        purpose=purpose,
        user=user,
        api_client=client,
        authority=authority,
    )
    return [by_id[key] for key in recipients]


# --- Caseworkers' look-ups (session) --------------------------------------------------------------


@dataclass(frozen=True)
class CaseworkerLookup:
    recipient: Recipient | None
    accounts: list[SpecificAccount]


@transaction.atomic
def _caseworker_lookup(
    *,
    actor: User,
    kind: str,
    number: str,
    purpose: str,
    channel: LookupLog.Channel = LookupLog.Channel.API,
    with_accounts: bool = True,
) -> CaseworkerLookup:
    recipient = Recipient.objects.filter(id_type=kind, id_number=number).first()
    accounts = (
        list(specific_account_list(actor=actor, recipient=recipient))
        if recipient and with_accounts
        else []
    )
    if kind == IdKind.CPR:
        lookup_log_write(
            channel=channel,
            cpr=number,
            purpose=purpose,
            result=LookupLog.Result.FOUND if recipient else LookupLog.Result.NOT_FOUND,
            user=actor,
            authority=actor.authority,
        )
    return CaseworkerLookup(recipient=recipient, accounts=accounts)


def specific_accounts_lookup(
    *, actor: User, id_type: str, id_number: str, purpose: str | None
) -> tuple[Recipient, list[SpecificAccount]]:
    """The authority's live specific accounts for one recipient, for its caseworker; the look-up
    is logged. Raises PermissionDenied (no specific-accounts function: nothing logged),
    ValidationFailed (malformed ID), NotFound (not in the register: logged first)."""
    specific_account_list(actor=actor)  # the permission check, before anything is logged
    kind, number = parse_recipient(id_type, id_number, prefix="recipient")
    cleaned = clean_purpose(purpose, required=False, default="caseworker: specific accounts")
    lookup_allowance_take(caller=actor)
    found = _caseworker_lookup(actor=actor, kind=kind, number=number, purpose=cleaned)
    if found.recipient is None:
        lookup_allowance_penalise(caller=actor)
        raise not_in_register("recipient")
    return found.recipient, found.accounts


def recipient_lookup_by_caseworker(
    *, actor: User, id_type: str, id_number: str, purpose: str | None
) -> CaseworkerLookup:
    """A caseworker looks one recipient up on the portal, stating why (required): the recipient
    and, with the specific-accounts function, the authority's live specific accounts for them.
    Open to caseworkers with the NemKonto or the specific-accounts function; the look-up is
    logged (channel portal). Raises PermissionDenied (neither function), ValidationFailed
    (malformed ID, missing purpose), TooManyRequests (nothing logged for any of those) and
    NotFound (not in the register: logged first)."""
    may_specific = may_maintain_specific_accounts(actor)
    if not may_specific and not (
        is_employee(actor) and units_for(user=actor, function=Function.UPDATE_NEMKONTO).exists()
    ):
        raise PermissionDenied(
            _("You need a role profile for NemKonti or specific accounts to look recipients up."),
            code="not_permitted",
        )
    kind, number = parse_recipient(id_type, id_number, prefix="")
    cleaned = clean_purpose(purpose)
    lookup_allowance_take(caller=actor)
    found = _caseworker_lookup(
        actor=actor,
        kind=kind,
        number=number,
        purpose=cleaned,
        channel=LookupLog.Channel.PORTAL,
        with_accounts=may_specific,
    )
    if found.recipient is None:
        lookup_allowance_penalise(caller=actor)
        raise not_in_register("")
    return found
