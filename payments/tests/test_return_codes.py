"""The catalogue of return codes and the return texts a payment system or caseworker reads
(API.md, Payment status and return codes; DOMAIN.md section 9)."""

from types import SimpleNamespace

import pytest
from django.utils import translation
from django.utils.functional import Promise

from payments.return_codes import (
    BANK_REASONS,
    FORMAL_ERRORS,
    RETURN_CODE_TABLE,
    RETURN_CODES,
    return_code_table,
    return_text,
    return_text_for,
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_every_code_of_the_contract_has_a_meaning_and_an_action():
    assert sorted(RETURN_CODES) == [0, 1, 2, 7, 8, 9]
    meanings = {str(entry.meaning) for entry in RETURN_CODES.values()}
    actions = {str(entry.action) for entry in RETURN_CODES.values()}
    assert len(meanings) == 6
    assert len(actions) == 6
    assert all(len(text) > 20 for text in meanings | actions)


def test_the_table_documents_every_code_with_meaning_and_action():
    table = str(RETURN_CODE_TABLE)
    for code, entry in RETURN_CODES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {code} |"))
        assert str(entry.meaning) in row
        assert str(entry.action) in row
    assert "What the authority should do" in table


def test_the_table_is_rendered_when_it_is_read():
    # Lazy: built in the language active when the schema is generated, not at import.
    assert str(RETURN_CODE_TABLE) == return_code_table()


@pytest.mark.parametrize(
    ("payment", "text"),
    [
        (
            {
                "code": 2,
                "status": "rejected",
                "field": "recipient.id",
                "reason": "cpr_invalid_date",
            },
            "Formal error in recipient.id: the first six digits are not a date (cpr_invalid_date).",
        ),
        (
            {"code": 2, "status": "rejected", "field": "amount", "reason": "fraction_of_ore"},
            "Formal error in amount: the amount has fractions of an øre (more than two decimals) "
            "(fraction_of_ore).",
        ),
        (
            {"code": 2, "status": "rejected", "field": "reference", "reason": "duplicate"},
            "Formal error in reference: the reference is used more than once in the batch (the "
            "first use counts) (duplicate).",
        ),
        (
            {"code": 2, "status": "rejected", "field": "payment", "reason": "something_new"},
            "Formal error in payment (something_new).",
        ),
        (
            {"code": 1, "status": "rejected"},
            "Rejected: the recipient ID does not exist in the CPR/CVR register.",
        ),
        (
            {"code": 0, "status": "completed"},
            "Accepted: account attached; waiting for the cut-off cycle.",
        ),
        ({"code": 0, "status": "forwarded"}, "Accepted: forwarded to the bank."),
        ({"code": 8, "status": "bank_received"}, "Received by the bank."),
        (
            {"code": 9, "status": "bank_error", "reason": "AC04"},
            "Error in the bank: the account is closed (AC04).",
        ),
        ({"code": 9, "status": "bank_error", "reason": "ZZ99"}, "Error in the bank (ZZ99)."),
        (
            {"code": 7, "status": "failed", "failure_handling": "returned"},
            "No NemKonto or specific account: returned to the authority.",
        ),
        (
            {"code": 7, "status": "failed", "failure_handling": "cheque"},
            "No NemKonto or specific account: paid by cheque to the recipient's address.",
        ),
        (
            {"code": 7, "status": "failed", "failure_handling": "error_account"},
            "No NemKonto or specific account: transferred to the authority's error account.",
        ),
        (
            {"code": 7, "status": "waiting"},
            "No NemKonto or specific account: held on the waiting account until the recipient "
            "registers an account.",
        ),
        (
            {"code": 7, "status": "rejected", "field": "address", "reason": "no_address"},
            "No NemKonto or specific account, and no address is known for a cheque: rejected "
            "(no_address).",
        ),
        ({"code": None, "status": "stopped"}, "Stopped before it was forwarded to the bank."),
        ({"code": None, "status": "received"}, "Received, not yet validated."),
    ],
)
def test_return_texts(payment, text):
    assert return_text_for(**payment) == text


def test_return_text_reads_a_payments_columns():
    payment = SimpleNamespace(
        return_code=2,
        status="rejected",
        return_field="account.iban",
        return_reason="iban_checksum",
        failure_handling="",
    )
    assert return_text(payment) == (
        "Formal error in account.iban: the IBAN's check digits do not match (iban_checksum)."
    )


@pytest.mark.parametrize(
    "reason",
    [
        "cpr_invalid_date",
        "not_positive",
        "fraction_of_ore",
        "too_long",
        "required",
        "duplicate",
        "already_used",
        "id_type_unknown",
        "cvr_checksum",
        "reg_unknown",
        "iban_checksum",
        "not_dkk",
        "control_characters",
        "not_a_decimal_string",
        "no_address",
    ],
)
def test_every_formal_error_code_has_a_text(reason):
    assert reason in FORMAL_ERRORS
    text = return_text_for(code=2, status="rejected", field="x", reason=reason)
    assert text.startswith("Formal error in x: ")
    assert text.endswith(f"({reason}).")


@pytest.mark.parametrize("reason", ["AC01", "AC04", "AC06", "AM05", "BE05", "MS03"])
def test_the_usual_bank_reasons_have_a_text(reason):
    assert reason in BANK_REASONS
    assert return_text_for(code=9, status="bank_error", reason=reason).startswith(
        "Error in the bank: "
    )


def test_texts_are_looked_up_when_rendered(monkeypatch):
    # Nothing is translated at import: a text follows the language active when it is rendered.
    from payments import return_codes

    monkeypatch.setattr(return_codes, "gettext", lambda text: text.upper())
    assert return_text_for(code=1, status="rejected") == (
        "REJECTED: THE RECIPIENT ID DOES NOT EXIST IN THE CPR/CVR REGISTER."
    )
    assert all(isinstance(text, Promise) for text in FORMAL_ERRORS.values())
    assert all(isinstance(text, Promise) for text in BANK_REASONS.values())
