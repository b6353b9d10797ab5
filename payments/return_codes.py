"""The return codes (*retursvar*) a payment gets, what each means and what the paying authority
should do about it (API.md, Payment status and return codes; DOMAIN.md section 9).

Codes 0, 1 and 2 are defined in the interface description, which is not public: the meanings
below are ours and are documented in the API reference (``RETURN_CODE_TABLE`` goes into the
OpenAPI descriptions). Every text is an English msgid, rendered in the active language when it is
used, so one catalogue serves the API (English unless ``Accept-Language: da``), the XML return
answers and the portal.

A payment's return text is built from its columns: the code, the status, and for code 2 the field
in error and the error's stable code, for code 9 the bank's ISO 20022 reason, for code 7 what the
failure choice did with it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ReturnCode:
    """One return code: the statuses it comes with, its meaning, the authority's action, and
    how it shows in an ISO 20022 pain.002 status report."""

    code: int
    statuses: tuple[str, ...]
    meaning: Promise
    action: Promise
    iso: str


RETURN_CODES: Mapping[int, ReturnCode] = {
    entry.code: entry
    for entry in (
        ReturnCode(
            0,
            ("completed", "forwarded"),
            _(
                "Accepted: the recipient's account is attached. The payment waits for the "
                "cut-off cycle (it can still be stopped) or has been forwarded to the "
                "authority's bank in a pain.001 file."
            ),
            _(
                "Nothing. Until the payment is forwarded, it can still be stopped if it should "
                "not be paid."
            ),
            "ACCP",
        ),
        ReturnCode(
            1,
            ("rejected",),
            _("Rejected: the recipient ID does not exist in the CPR/CVR register."),
            _(
                "Check the recipient's ID in the case (a typing error, or a person or business "
                "that has ceased) and send the payment again under a new reference."
            ),
            "RJCT (BE05)",
        ),
        ReturnCode(
            2,
            ("rejected",),
            _(
                "Rejected: formal error in the row. The return text names the field and the "
                "error (malformed value, unknown benefit, duplicate reference, ...)."
            ),
            _(
                "Correct the named field in the payment system and send the payment again. A "
                "payment rejected for its reference must get a reference that has not been used."
            ),
            "RJCT (FF01)",
        ),
        ReturnCode(
            7,
            ("failed", "waiting", "rejected"),
            _(
                "Completion failed: the recipient has neither a NemKonto nor a specific account "
                "for the benefit. The failure choice of the connection agreement applies: "
                "returned to the authority, paid by cheque to the recipient's address (rejected "
                "when no address is known), transferred to the error account, or held on the "
                "waiting account until the recipient registers an account."
            ),
            _(
                "Returned or rejected: pay another way, or ask the recipient to register a "
                "NemKonto and send the payment again under a new reference. Cheque: nothing. "
                "Error account: follow up the amount on the error account. Waiting: nothing; "
                "the payment is forwarded when the recipient registers an account."
            ),
            "RJCT, or ACCP when redirected",
        ),
        ReturnCode(
            8,
            ("bank_received",),
            _("Received by the bank: the authority's bank accepted the payment."),
            _(
                "Nothing. If the recipient says the money never came, check the account the "
                "payment went to in its history."
            ),
            "ACSC",
        ),
        ReturnCode(
            9,
            ("bank_error",),
            _(
                "Error in the bank: the authority's bank rejected the payment; the bank's ISO "
                "20022 reason code is given."
            ),
            _(
                "Act on the bank's reason (for example a closed or blocked account: ask the "
                "recipient to update their NemKonto) and send the payment again under a new "
                "reference."
            ),
            "RJCT (the bank's reason)",
        ),
    )
}

# Texts for the stable error codes of formal errors (return code 2), the last part of
# ``return_field``/``return_reason`` (API.md: "field named in return_text").
FORMAL_ERRORS: Mapping[str, Promise] = {
    "required": _("the value is missing"),
    "too_long": _("the value is too long"),
    "not_a_string": _("the value must be a text"),
    "not_an_object": _("the value must be an object"),
    "control_characters": _("the value contains control characters"),
    "not_a_decimal_string": _(
        'the amount must be a decimal string in kroner with at most two decimals ("1234.50")'
    ),
    "not_positive": _("the amount must be greater than zero"),
    "fraction_of_ore": _("the amount has fractions of an øre (more than two decimals)"),
    "too_large": _("the amount is larger than one payment can be"),
    "not_dkk": _("only payments in Danish kroner (DKK) are accepted"),
    "duplicate": _("the reference is used more than once in the batch (the first use counts)"),
    "already_used": _("the reference has been used before by the payment system"),
    "unknown_benefit": _("the authority has no such benefit"),
    "inactive_benefit": _("the benefit is not active"),
    "after_cut_off": _("the requested value date can no longer be met (after the cut-off)"),
    "no_address": _("no address is known for a cheque"),
    "id_type_unknown": _("the ID type must be CPR, CVR, P or SE"),
    "cpr_format": _("the CPR number must be 10 digits (DDMMYY-SSSS)"),
    "cpr_invalid_date": _("the first six digits are not a date"),
    "cvr_format": _("the CVR number must be 8 digits and cannot begin with 0"),
    "cvr_checksum": _("the CVR number fails the modulus-11 check"),
    "p_format": _("the P-number must be 10 digits"),
    "se_format": _("the SE number must be 8 digits"),
    "account_missing": _("the account is incomplete: give reg.nr. and number, or IBAN and BIC"),
    "account_ambiguous": _("give reg.nr. and account number, or IBAN and BIC, not both"),
    "reg_required": _("the registration number is missing"),
    "reg_format": _("the registration number must be 4 digits"),
    "reg_unknown": _("the registration number does not belong to a known Danish bank"),
    "number_required": _("the account number is missing"),
    "number_format": _("the account number must contain digits only"),
    "number_too_long": _("the account number can have at most 10 digits"),
    "iban_required": _("the IBAN is missing"),
    "iban_format": _("the IBAN is malformed"),
    "iban_country": _("IBANs from this country are not supported"),
    "iban_length": _("the IBAN has the wrong length for its country"),
    "iban_checksum": _("the IBAN's check digits do not match"),
    "bic_required": _("a foreign account needs a BIC"),
    "bic_format": _("the BIC must be 8 or 11 letters and digits"),
}

# The banks' ISO 20022 status reasons (ExternalStatusReason1Code) seen with return code 9.
BANK_REASONS: Mapping[str, Promise] = {
    "AC01": _("the account number is incorrect"),
    "AC03": _("the creditor account number is invalid"),
    "AC04": _("the account is closed"),
    "AC06": _("the account is blocked"),
    "AC13": _("the account type is invalid"),
    "AG01": _("the transaction is forbidden on this account"),
    "AG02": _("the bank operation code is invalid"),
    "AM01": _("the amount is zero"),
    "AM02": _("the amount is not allowed"),
    "AM04": _("the funds on the disbursement account are insufficient"),
    "AM05": _("the payment is a duplicate"),
    "AM09": _("the amount is wrong"),
    "BE01": _("the recipient does not match the account holder"),
    "BE04": _("the recipient's address is missing"),
    "BE05": _("the initiating party is not recognised"),
    "CNOR": _("the recipient's bank is not registered"),
    "DNOR": _("the authority's bank is not registered"),
    "DS02": _("the order was cancelled"),
    "DT01": _("the date is invalid"),
    "FF01": _("the file format is invalid"),
    "MD07": _("the recipient is deceased"),
    "MS02": _("reason not specified by the customer"),
    "MS03": _("reason not specified by the bank"),
    "NARR": _("see the bank's narrative"),
    "RC01": _("the bank identifier is incorrect"),
    "RR01": _("the account holder's identification is missing (regulatory)"),
    "RR02": _("the account holder's name or address is missing (regulatory)"),
    "RR03": _("the recipient's name or address is missing (regulatory)"),
    "RR04": _("regulatory reason"),
    "TM01": _("the file arrived after the bank's cut-off time"),
}

# Texts of the statuses that carry no return code.
_WITHOUT_CODE: Mapping[str, Promise] = {
    "received": _("Received, not yet validated."),
    "stopped": _("Stopped before it was forwarded to the bank."),
    "held": _(
        "Held: it repeats an earlier payment (same recipient, benefit, amount and period); "
        "it is not forwarded until it is confirmed or rejected."
    ),
}


class PaymentLike(Protocol):
    """What ``return_text`` reads of a payment (a ``Payment`` or anything shaped like one)."""

    @property
    def return_code(self) -> int | None: ...

    @property
    def status(self) -> str: ...

    @property
    def return_field(self) -> str: ...

    @property
    def return_reason(self) -> str: ...

    @property
    def failure_handling(self) -> str: ...


def formal_error_text(reason: str) -> str:
    """The text of a formal error's code in the active language (the code itself if unknown)."""
    text = FORMAL_ERRORS.get(reason)
    return str(text) if text is not None else reason


def bank_reason_text(reason: str) -> str:
    """The text of an ISO 20022 status reason in the active language ('' if unknown)."""
    text = BANK_REASONS.get(reason.upper())
    return str(text) if text is not None else ""


def _code_7(status: str, field: str, reason: str, failure_handling: str) -> str:
    if status == "rejected" or reason == "no_address":
        return gettext(
            "No NemKonto or specific account, and no address is known for a cheque: "
            "rejected (%(code)s)."
        ) % {"code": reason or "no_address"}
    texts = {
        "returned": _("No NemKonto or specific account: returned to the authority."),
        "cheque": _("No NemKonto or specific account: paid by cheque to the recipient's address."),
        "error_account": _(
            "No NemKonto or specific account: transferred to the authority's error account."
        ),
        "waiting": _(
            "No NemKonto or specific account: held on the waiting account until the recipient "
            "registers an account."
        ),
    }
    handling = "waiting" if status == "waiting" else failure_handling
    text = texts.get(handling)
    return str(text) if text is not None else gettext("No NemKonto or specific account.")


def return_text_for(
    *,
    code: int | None,
    status: str,
    field: str = "",
    reason: str = "",
    failure_handling: str = "",
) -> str:
    """The return text of a payment with these columns, in the active language.

    For example ``Formal error in recipient.id: the first six digits are not a date
    (cpr_invalid_date)``.
    """
    # A payment stopped after it was attached keeps its code 0; it was never forwarded.
    if code is None or status == "stopped":
        text = _WITHOUT_CODE.get(status)
        return str(text) if text is not None else ""
    if code == 0:
        if status == "completed":
            return gettext("Accepted: account attached; waiting for the cut-off cycle.")
        return gettext("Accepted: forwarded to the bank.")
    if code == 1:
        return gettext("Rejected: the recipient ID does not exist in the CPR/CVR register.")
    if code == 2:
        values = {"field": field, "problem": formal_error_text(reason), "code": reason}
        if not reason:
            return gettext("Formal error in %(field)s.") % values
        if reason not in FORMAL_ERRORS:
            return gettext("Formal error in %(field)s (%(code)s).") % values
        if not field:
            return gettext("Formal error: %(problem)s (%(code)s).") % values
        return gettext("Formal error in %(field)s: %(problem)s (%(code)s).") % values
    if code == 7:
        return _code_7(status, field, reason, failure_handling)
    if code == 8:
        return gettext("Received by the bank.")
    if code == 9:
        if not reason:
            return gettext("Error in the bank.")
        problem = bank_reason_text(reason)
        if not problem:
            return gettext("Error in the bank (%(code)s).") % {"code": reason}
        return gettext("Error in the bank: %(problem)s (%(code)s).") % {
            "problem": problem,
            "code": reason,
        }
    return ""


def return_text(payment: PaymentLike) -> str:
    """The return text of a payment (or anything with its columns), in the active language."""
    return return_text_for(
        code=payment.return_code,
        status=payment.status,
        field=payment.return_field,
        reason=payment.return_reason,
        failure_handling=payment.failure_handling,
    )


def return_meaning(code: int) -> str:
    """What a return code means, in the active language."""
    return str(RETURN_CODES[code].meaning)


def return_action(code: int) -> str:
    """What the authority should do about a return code, in the active language."""
    return str(RETURN_CODES[code].action)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def return_code_table() -> str:
    """The catalogue as a Markdown table (for the API reference), in the active language."""
    header = (
        "| "
        + " | ".join(
            [
                gettext("Code"),
                gettext("Status"),
                gettext("Meaning"),
                gettext("What the authority should do"),
                "ISO 20022 (pain.002)",
            ]
        )
        + " |"
    )
    lines = [header, "|---|---|---|---|---|"]
    for entry in RETURN_CODES.values():
        statuses = ", ".join(f"`{status}`" for status in entry.statuses)
        lines.append(
            f"| {entry.code} | {statuses} | {_cell(entry.meaning)} | {_cell(entry.action)} "
            f"| {entry.iso} |"
        )
    lines.append("")
    lines.append(
        gettext(
            "Payments with status `received` (not yet validated), `held` (a possible duplicate "
            "of an earlier payment, waiting for confirmation) or `stopped` (stopped before "
            "forwarding) carry no return code. For code 2, `return_text` names the field and "
            "the error's code (e.g. `cpr_invalid_date`); for code 9, the bank's ISO reason "
            "(e.g. `AC04`); for code 7, `failure_handling` says what became of the payment."
        )
    )
    return "\n".join(lines)


# The table, rendered when the schema is built (in the language of that request).
RETURN_CODE_TABLE: str = lazy(return_code_table, str)()
