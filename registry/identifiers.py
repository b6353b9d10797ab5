"""Recipient identifiers (CPR, CVR, P, SE) and bank accounts: parse, normalise, validate.

The rules are those of DOMAIN.md sections 2 and 3. Every parse function takes the raw text a
person or a payment system sent and either returns a frozen value in normalised form or raises
`IdentifierError`, which names the input field, a stable machine code and a message a citizen
can read (translated with Django's gettext).

Only syntax is checked here; whether an identifier exists is decided by the register.
"""

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty import registry as schwifty_registry
from stdnum.dk import cvr as stdnum_cvr

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DK = "DK"
MASK = "****"

# ASCII digits only: `\d` and str.isdigit() also accept other scripts' digits.
_CPR_RE = re.compile(r"([0-9]{6})[- ]?([0-9]{4})")
_DIGITS_RE = re.compile(r"[0-9]+")
_IBAN_SHAPE_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")


class IdKind(models.TextChoices):
    """The kind of a recipient ID; the values are those of the API's `recipient.type`."""

    CPR = "CPR", _("CPR number")
    CVR = "CVR", _("CVR number")
    P = "P", _("P-number")
    SE = "SE", _("SE number")


class IdentifierError(ValueError):
    """An identifier or account that is not valid.

    `code` is stable and meant for machines (API `errors[].code`), `field` names the input field
    ("type", "id", "account", "reg", "number", "iban" or "bic"), `message` is a lazy translatable
    text with `%(name)s` placeholders filled from `params`. `str(error)` renders the message in
    the active language.
    """

    def __init__(
        self,
        code: str,
        field: str,
        message: "StrOrPromise",
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.message = message
        self.params: dict[str, str] = dict(params or {})

    def __reduce__(self) -> tuple[type["IdentifierError"], tuple[object, ...]]:
        return (type(self), (self.code, self.field, self.message, self.params))

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text

    def as_validation_error(self) -> ValidationError:
        """The same error as a Django ValidationError, for forms, models and serializers."""
        return ValidationError(self.message, code=self.code, params=self.params or None)


# --- recipient IDs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecipientId:
    """A syntactically valid recipient ID in normalised form (digits only, no hyphen).

    Constructing one directly validates it too, so a RecipientId is always valid and normalised.
    """

    kind: IdKind
    number: str

    def __post_init__(self) -> None:
        normalise = _NORMALISERS.get(self.kind)
        if normalise is None or normalise(self.number) != self.number:
            raise ValueError(f"RecipientId needs a normalised {self.kind} number; use parse_*()")

    @property
    def formatted(self) -> str:
        """The number as shown to people: CPR as DDMMYY-SSSS, the others as they are."""
        if self.kind == IdKind.CPR:
            return f"{self.number[:6]}-{self.number[6:]}"
        return self.number


def _cpr_century(seventh_digit: int, yy: int) -> int:
    """The century of a CPR birth date, from the 7th digit and the two-digit year (CPR table)."""
    if seventh_digit <= 3:
        return 1900
    if seventh_digit in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800  # 5 to 8


def _normalise_cpr(raw: str) -> str:
    match = _CPR_RE.fullmatch(raw.strip())
    if match is None:
        raise IdentifierError(
            "cpr_format",
            "id",
            _("The CPR number must be 10 digits, written as DDMMYY-SSSS (the hyphen is optional)."),
        )
    number = match.group(1) + match.group(2)
    _cpr_date(number)
    return number


def _cpr_date(number: str) -> datetime.date:
    """The birth date of a 10-digit CPR number; no modulus-11 check (not used since 2007)."""
    day, month, yy = int(number[0:2]), int(number[2:4]), int(number[4:6])
    year = _cpr_century(int(number[6]), yy) + yy
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise IdentifierError(
            "cpr_invalid_date",
            "id",
            _("The CPR number must begin with a real date of birth: %(date)s does not exist."),
            {"date": f"{number[0:2]}.{number[2:4]}.{year:04d}"},
        ) from None


def _normalise_cvr(raw: str) -> str:
    number = raw.strip()
    if len(number) != 8 or not _DIGITS_RE.fullmatch(number) or number[0] == "0":
        raise IdentifierError(
            "cvr_format", "id", _("The CVR number must be 8 digits and cannot begin with 0.")
        )
    if stdnum_cvr.checksum(number) != 0:
        raise IdentifierError(
            "cvr_checksum",
            "id",
            _("The CVR number %(number)s is not valid. Check that all 8 digits are correct."),
            {"number": number},
        )
    return number


def _normalise_p_number(raw: str) -> str:
    # Format only: one series of real P-numbers fails a plain modulus-11 check.
    number = raw.strip()
    if len(number) != 10 or not _DIGITS_RE.fullmatch(number):
        raise IdentifierError("p_format", "id", _("The P-number must be 10 digits."))
    return number


def _normalise_se_number(raw: str) -> str:
    number = raw.strip()
    if len(number) != 8 or not _DIGITS_RE.fullmatch(number):
        raise IdentifierError("se_format", "id", _("The SE number must be 8 digits."))
    return number


_NORMALISERS: dict[IdKind, Callable[[str], str]] = {
    IdKind.CPR: _normalise_cpr,
    IdKind.CVR: _normalise_cvr,
    IdKind.P: _normalise_p_number,
    IdKind.SE: _normalise_se_number,
}


def parse_cpr(raw: str) -> RecipientId:
    """A CPR number, `DDMMYY-SSSS` or `DDMMYY SSSS` or `DDMMYYSSSS`, whose date is real."""
    return RecipientId(IdKind.CPR, _normalise_cpr(raw))


def parse_cvr(raw: str) -> RecipientId:
    """A CVR number: 8 digits, not beginning with 0, modulus 11 with weights 2,7,6,5,4,3,2,1."""
    return RecipientId(IdKind.CVR, _normalise_cvr(raw))


def parse_p_number(raw: str) -> RecipientId:
    """A P-number: 10 digits, format only."""
    return RecipientId(IdKind.P, _normalise_p_number(raw))


def parse_se_number(raw: str) -> RecipientId:
    """An SE number: 8 digits, format only."""
    return RecipientId(IdKind.SE, _normalise_se_number(raw))


def parse_recipient_id(kind: IdKind | str, raw: str) -> RecipientId:
    """A recipient ID of the given kind (an IdKind or its value: "CPR", "CVR", "P", "SE")."""
    try:
        id_kind = IdKind(kind)
    except ValueError:
        raise IdentifierError(
            "id_type_unknown", "type", _("The ID type must be CPR, CVR, P or SE.")
        ) from None
    return RecipientId(id_kind, _NORMALISERS[id_kind](raw))


def cpr_birth_date(cpr: str | RecipientId) -> datetime.date:
    """The date of birth in a CPR number (raw text or a parsed CPR RecipientId)."""
    if isinstance(cpr, RecipientId):
        if cpr.kind != IdKind.CPR:
            raise ValueError(f"cpr_birth_date needs a CPR number, not {cpr.kind}")
        return _cpr_date(cpr.number)
    return _cpr_date(_normalise_cpr(cpr))


# --- accounts -----------------------------------------------------------------------------------


def mask_account_number(number: str) -> str:
    """`****` followed by the last 4 characters of an account number or IBAN."""
    return MASK + number[-4:]


def is_known_reg(reg: str) -> bool:
    """Whether a 4-digit reg.nr. belongs to a Danish bank in schwifty's bank registry."""
    return bool(schwifty_registry.get_banks_by_code(DK, reg))


@dataclass(frozen=True, slots=True)
class DanishAccount:
    """A Danish account: reg.nr. (4 digits, a known bank) and account number (10 digits)."""

    reg: str
    number: str

    def __post_init__(self) -> None:
        if _normalise_danish(self.reg, self.number, "reg") != (self.reg, self.number):
            raise ValueError("DanishAccount needs a normalised reg and number; use parse_account()")

    @property
    def iban(self) -> str:
        """The account as a Danish IBAN, e.g. DK5000400440116243."""
        return str(IBAN.from_bban(DK, self.reg + self.number))

    @property
    def masked(self) -> str:
        return mask_account_number(self.number)


@dataclass(frozen=True, slots=True)
class ForeignAccount:
    """A foreign account: IBAN and BIC, both compact and upper case. Never a Danish IBAN."""

    iban: str
    bic: str

    def __post_init__(self) -> None:
        iban = _parse_iban(self.iban)
        if iban.country_code == DK or str(iban) != self.iban or _parse_bic(self.bic) != self.bic:
            raise ValueError("ForeignAccount needs a normalised, non-Danish IBAN and a BIC")

    @property
    def masked(self) -> str:
        return mask_account_number(self.iban)


def _normalise_danish(reg: str, number: str, reg_field: str) -> tuple[str, str]:
    reg = reg.strip()
    if len(reg) != 4 or not _DIGITS_RE.fullmatch(reg):
        raise IdentifierError(
            "reg_format", reg_field, _("The registration number (reg.nr.) must be 4 digits.")
        )
    if not is_known_reg(reg):
        raise IdentifierError(
            "reg_unknown",
            reg_field,
            _("The registration number %(reg)s does not belong to a known Danish bank."),
            {"reg": reg},
        )
    number = number.strip()
    if not _DIGITS_RE.fullmatch(number):
        raise IdentifierError(
            "number_format", "number", _("The account number must contain digits only.")
        )
    if len(number) > 10:
        raise IdentifierError(
            "number_too_long", "number", _("The account number can have at most 10 digits.")
        )
    return reg, number.zfill(10)


def _parse_iban(raw: str) -> IBAN:
    compact = re.sub(r"\s+", "", raw).upper()
    if not _IBAN_SHAPE_RE.fullmatch(compact):
        raise IdentifierError(
            "iban_format",
            "iban",
            _(
                "The IBAN must begin with a 2-letter country code and 2 check digits, "
                "followed by letters and digits only."
            ),
        )
    try:
        return IBAN(compact)
    except schwifty_errors.InvalidCountryCode:
        raise IdentifierError(
            "iban_country",
            "iban",
            _("IBANs from the country code %(country)s are not supported."),
            {"country": compact[:2]},
        ) from None
    except schwifty_errors.InvalidLength:
        length = schwifty_registry.get_iban_spec(compact[:2]).iban_length
        raise IdentifierError(
            "iban_length",
            "iban",
            _("An IBAN from %(country)s must be %(length)s characters long."),
            {"country": compact[:2], "length": str(length)},
        ) from None
    except schwifty_errors.InvalidChecksumDigits:
        raise IdentifierError(
            "iban_checksum",
            "iban",
            _("The IBAN is not valid: its check digits do not match. Check for typing errors."),
        ) from None
    except schwifty_errors.SchwiftyException:
        raise IdentifierError(
            "iban_format",
            "iban",
            _("The IBAN does not have the format used in %(country)s."),
            {"country": compact[:2]},
        ) from None


def _parse_bic(raw: str) -> str:
    try:
        return str(BIC(raw))
    except schwifty_errors.SchwiftyException:
        raise IdentifierError(
            "bic_format",
            "bic",
            _("The BIC (SWIFT code) must be 8 or 11 letters and digits, for example DABADKKK."),
        ) from None


def _given(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def parse_danish_account(reg: str, number: str) -> DanishAccount:
    """A Danish account from reg.nr. and account number; the number is zero-padded to 10."""
    return DanishAccount(*_normalise_danish(reg, number, "reg"))


def parse_iban_account(iban: str, bic: str | None = None) -> DanishAccount | ForeignAccount:
    """An account given as IBAN (+ BIC). A DK IBAN is a DanishAccount; others need a BIC."""
    bic_value = _parse_bic(bic) if bic is not None and _given(bic) else None
    parsed = _parse_iban(iban)
    if parsed.country_code == DK:
        bban = str(parsed.bban)
        return DanishAccount(*_normalise_danish(bban[:4], bban[4:], "iban"))
    if bic_value is None:
        raise IdentifierError(
            "bic_required", "bic", _("A foreign account needs a BIC (SWIFT code) as well.")
        )
    return ForeignAccount(str(parsed), bic_value)


def parse_account(
    *,
    reg: str | None = None,
    number: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
) -> DanishAccount | ForeignAccount:
    """An account as the API sends it: `{"reg", "number"}` or `{"iban", "bic"}`.

    Blank values count as absent. Mixing the two forms is an error.
    """
    domestic = _given(reg) or _given(number)
    international = _given(iban) or _given(bic)
    if domestic and international:
        raise IdentifierError(
            "account_ambiguous",
            "account",
            _("Give either reg.nr. and account number, or IBAN and BIC, not both."),
        )
    if domestic:
        if reg is None or not _given(reg):
            raise IdentifierError(
                "reg_required", "reg", _("The registration number (reg.nr.) is missing.")
            )
        if number is None or not _given(number):
            raise IdentifierError("number_required", "number", _("The account number is missing."))
        return parse_danish_account(reg, number)
    if international:
        if iban is None or not _given(iban):
            raise IdentifierError("iban_required", "iban", _("The IBAN is missing."))
        return parse_iban_account(iban, bic)
    raise IdentifierError(
        "account_missing",
        "account",
        _("The account is missing: give reg.nr. and account number, or IBAN and BIC."),
    )
