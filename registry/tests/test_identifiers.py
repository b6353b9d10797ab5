"""Identifiers and accounts (DOMAIN.md sections 2 and 3). Plain functions: no database."""

import datetime
import pickle

import pytest
from django.utils import translation
from django.utils.functional import Promise
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from schwifty import registry as schwifty_registry
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError as StdnumValidationError

from registry.identifiers import (
    DanishAccount,
    ForeignAccount,
    IdentifierError,
    IdKind,
    RecipientId,
    cpr_birth_date,
    is_known_reg,
    mask_account_number,
    parse_account,
    parse_cpr,
    parse_cvr,
    parse_danish_account,
    parse_iban_account,
    parse_p_number,
    parse_recipient_id,
    parse_se_number,
)

# schwifty loads its bank registry on first use; that must not trip hypothesis' deadline.
slow_ok = settings(deadline=None)

KNOWN_REGS = sorted({bank.bank_code for bank in schwifty_registry.get_banks_by_country("DK")})
UNKNOWN_REG = "0001"
GB_IBAN = "GB82WEST12345698765432"
GB_BIC = "NWBKGB2L"
DK_IBAN = "DK5000400440116243"  # reg 0040 (Nordea), account 0440116243

digits = st.text(alphabet="0123456789", min_size=1, max_size=14)


def raises_code(code: str, field: str | None = None) -> pytest.RaisesExc[IdentifierError]:
    return pytest.raises(IdentifierError, check=lambda e: _matches(e, code, field))


def _matches(error: IdentifierError, code: str, field: str | None) -> bool:
    assert error.code == code, f"code {error.code!r} != {code!r}"
    if field is not None:
        assert error.field == field, f"field {error.field!r} != {field!r}"
    return True


def plain_mod11(number: str) -> int:
    """The classic 10-digit modulus-11 sum (old CPR weights); valid numbers give 0."""
    return sum(w * int(d) for w, d in zip((4, 3, 2, 7, 6, 5, 4, 3, 2, 1), number, strict=True)) % 11


# --- CPR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["010190-1234", "0101901234", "010190 1234", "  010190-1234\n"])
def test_cpr_hyphen_or_space_is_optional(raw):
    cpr = parse_cpr(raw)
    assert cpr == RecipientId(IdKind.CPR, "0101901234")
    assert cpr.formatted == "010190-1234"
    assert cpr_birth_date(cpr) == datetime.date(1990, 1, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "010190-123",  # 9 digits
        "010190-12345",  # 11 digits
        "01019O-1234",  # letter O
        "010190--1234",
        "0101-901234",  # hyphen in the wrong place
        "010190_1234",
        "010190-1234x",
        "".join(chr(0x0660 + int(d)) for d in "0101901234"),  # Arabic-Indic digits
        "".join(chr(0xFF10 + int(d)) for d in "0101901234"),  # full-width digits
    ],
)
def test_cpr_wrong_shape_is_rejected(raw):
    with raises_code("cpr_format", "id"):
        parse_cpr(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "310299-1234",  # no 31 February
        "290200-1234",  # 7th digit 1: 1900, not a leap year
        "290201-4234",  # 2001 not a leap year
        "000190-1234",  # day 0
        "011390-1234",  # month 13
        "320190-1234",
        "310490-1234",
        "290258-5234",  # 7th digit 5 with 58: 1858, not a leap year
    ],
)
def test_cpr_date_must_be_real(raw):
    with raises_code("cpr_invalid_date", "id"):
        parse_cpr(raw)


def test_cpr_29_february_2000_is_valid():
    assert cpr_birth_date("290200-4234") == datetime.date(2000, 2, 29)


def test_cpr_invalid_date_message_names_the_date_with_its_century():
    with pytest.raises(IdentifierError) as info:
        parse_cpr("310299-1234")
    with translation.override("en"):
        assert str(info.value) == (
            "The CPR number must begin with a real date of birth: 31.02.1999 does not exist."
        )
    with pytest.raises(IdentifierError) as info:
        parse_cpr("290200-1234")
    with translation.override("en"):
        assert "29.02.1900 does not exist" in str(info.value)


@pytest.mark.parametrize(
    ("seventh", "yy", "year"),
    [
        *[(d, yy, 1900 + yy) for d in "0123" for yy in (0, 36, 37, 57, 58, 99)],
        *[(d, 0, 2000) for d in "49"],
        *[(d, 36, 2036) for d in "49"],
        *[(d, 37, 1937) for d in "49"],
        *[(d, 99, 1999) for d in "49"],
        *[(d, 0, 2000) for d in "5678"],
        *[(d, 36, 2036) for d in "5678"],
        *[(d, 57, 2057) for d in "5678"],
        *[(d, 58, 1858) for d in "5678"],
        *[(d, 99, 1899) for d in "5678"],
    ],
)
def test_cpr_century_from_seventh_digit(seventh, yy, year):
    assert cpr_birth_date(f"1503{yy:02d}-{seventh}123") == datetime.date(year, 3, 15)


def test_cpr_has_no_modulus_11_check():
    number = "0101901234"
    assert plain_mod11(number) != 0  # a checksum check would reject it
    assert stdnum_cpr.checksum(number) != 0
    assert parse_cpr(number).number == number


def test_cpr_birth_date_refuses_other_kinds():
    with pytest.raises(ValueError, match="CPR"):
        cpr_birth_date(parse_cvr("13585628"))


# --- CVR, P, SE ---------------------------------------------------------------------------------


def test_cvr_valid():
    assert parse_cvr(" 13585628 ") == RecipientId(IdKind.CVR, "13585628")


def test_cvr_checksum_failure():
    with raises_code("cvr_checksum", "id"):
        parse_cvr("13585627")


@pytest.mark.parametrize(
    "raw", ["", "1358562", "135856280", "1358562A", "03585628", "DK13585628", "1358 5628"]
)
def test_cvr_wrong_shape_is_rejected(raw):
    with raises_code("cvr_format", "id"):
        parse_cvr(raw)


def test_p_number_failing_plain_modulus_11_is_accepted():
    number = "1003388394"
    assert plain_mod11(number) != 0
    assert parse_p_number(number) == RecipientId(IdKind.P, number)


@pytest.mark.parametrize("raw", ["", "100338839", "10033883940", "100338839X", "1003-388394"])
def test_p_number_wrong_shape_is_rejected(raw):
    with raises_code("p_format", "id"):
        parse_p_number(raw)


def test_se_number_is_format_only():
    assert parse_se_number("12345678") == RecipientId(IdKind.SE, "12345678")
    assert parse_se_number("00000001").number == "00000001"


@pytest.mark.parametrize("raw", ["", "1234567", "123456789", "1234567a", "1234 5678"])
def test_se_number_wrong_shape_is_rejected(raw):
    with raises_code("se_format", "id"):
        parse_se_number(raw)


@pytest.mark.parametrize(
    ("kind", "raw", "number"),
    [
        (IdKind.CPR, "010190-1234", "0101901234"),
        ("CPR", "0101901234", "0101901234"),
        ("CVR", "13585628", "13585628"),
        ("P", "1003388394", "1003388394"),
        ("SE", "12345678", "12345678"),
    ],
)
def test_parse_recipient_id_dispatches_on_kind(kind, raw, number):
    parsed = parse_recipient_id(kind, raw)
    assert parsed.kind == IdKind(kind)
    assert parsed.number == number


@pytest.mark.parametrize("kind", ["cpr", "XYZ", ""])
def test_parse_recipient_id_unknown_kind(kind):
    with raises_code("id_type_unknown", "type"):
        parse_recipient_id(kind, "13585628")


def test_parse_recipient_id_applies_the_kinds_rule():
    with raises_code("cvr_checksum"):
        parse_recipient_id("CVR", "13585627")
    with raises_code("se_format"):
        parse_recipient_id("SE", "0101901234")  # a CPR is not an SE number


def test_recipient_id_constructed_directly_must_be_valid_and_normalised():
    with pytest.raises(ValueError, match="normalised"):
        RecipientId(IdKind.CPR, "010190-1234")
    with pytest.raises(IdentifierError):
        RecipientId(IdKind.CVR, "13585627")
    with pytest.raises(ValueError, match="normalised"):
        RecipientId("nope", "13585628")  # type: ignore[arg-type]


def test_id_kind_values_and_labels():
    assert [k.value for k in IdKind] == ["CPR", "CVR", "P", "SE"]
    with translation.override("en"):
        assert str(IdKind.P.label) == "P-number"


# --- Danish accounts ----------------------------------------------------------------------------


def test_danish_account_is_zero_padded():
    account = parse_account(reg="1551", number="123")
    assert account == DanishAccount("1551", "0000000123")
    assert isinstance(account, DanishAccount)
    assert account.iban == "DK5715510000000123"


def test_danish_account_with_ten_digits():
    assert parse_account(reg=" 5301 ", number=" 1234567890 ") == DanishAccount("5301", "1234567890")


def test_unknown_reg_is_rejected():
    assert not is_known_reg(UNKNOWN_REG)
    with raises_code("reg_unknown", "reg"):
        parse_account(reg=UNKNOWN_REG, number="123")


@pytest.mark.parametrize("reg", ["155", "15510", "15a1", "15-1"])
def test_reg_must_be_4_digits(reg):
    with raises_code("reg_format", "reg"):
        parse_danish_account(reg, "123")


def test_account_number_too_long():
    with raises_code("number_too_long", "number"):
        parse_account(reg="1551", number="12345678901")


@pytest.mark.parametrize("number", ["12-34", "12 34", "1234x", "\u0661\u0662"])
def test_account_number_digits_only(number):
    with raises_code("number_format", "number"):
        parse_account(reg="1551", number=number)


def test_danish_iban_gives_reg_and_number():
    account = parse_account(iban="dk50 0040 0440 1162 43")
    assert account == DanishAccount("0040", "0440116243")
    assert isinstance(account, DanishAccount)
    assert account.iban == DK_IBAN


def test_danish_iban_with_wrong_check_digits_is_rejected():
    with raises_code("iban_checksum", "iban"):
        parse_account(iban="DK5100400440116243")


def test_danish_iban_with_unknown_reg_is_rejected():
    iban = str(IBAN.from_bban("DK", UNKNOWN_REG + "0000000123"))  # correct check digits
    with raises_code("reg_unknown", "iban"):
        parse_account(iban=iban)


def test_danish_iban_with_bic_is_still_danish():
    account = parse_account(iban=DK_IBAN, bic="NDEADKKK")
    assert account == DanishAccount("0040", "0440116243")


def test_danish_iban_with_invalid_bic_is_rejected():
    with raises_code("bic_format", "bic"):
        parse_account(iban=DK_IBAN, bic="NDEA")


def test_danish_account_constructed_directly_must_be_normalised():
    with pytest.raises(ValueError, match="normalised"):
        DanishAccount("1551", "123")
    with pytest.raises(IdentifierError):
        DanishAccount(UNKNOWN_REG, "0000000123")


# --- foreign accounts ---------------------------------------------------------------------------


def test_foreign_account():
    account = parse_account(iban="gb82 west 1234 5698 7654 32", bic="nwbk gb 2l")
    assert account == ForeignAccount(GB_IBAN, GB_BIC)
    assert isinstance(account, ForeignAccount)


def test_foreign_account_with_eleven_character_bic():
    assert parse_iban_account(GB_IBAN, "NWBKGB2LXXX") == ForeignAccount(GB_IBAN, "NWBKGB2LXXX")


def test_foreign_iban_with_wrong_check_digits_is_rejected():
    with raises_code("iban_checksum", "iban"):
        parse_account(iban="GB83WEST12345698765432", bic=GB_BIC)


def test_foreign_iban_needs_a_bic():
    with raises_code("bic_required", "bic"):
        parse_account(iban=GB_IBAN)
    with raises_code("bic_required", "bic"):
        parse_account(iban=GB_IBAN, bic="  ")


@pytest.mark.parametrize("bic", ["NWBKGB2", "NWBKGB2LX", "NWBK@B2L", "NWBKXX2L", "NWBKGB2L XX"])
def test_invalid_bic_is_rejected(bic):
    with raises_code("bic_format", "bic"):
        parse_account(iban=GB_IBAN, bic=bic)


@pytest.mark.parametrize(
    ("iban", "code"),
    [
        ("12345678", "iban_format"),
        ("DK50-0040-0440-1162-43", "iban_format"),
        ("DKAB00400440116243", "iban_format"),
        ("XX8200400440116243", "iban_country"),
        ("DK500040044011624", "iban_length"),
        ("DK50004004401162430", "iban_length"),
        ("DK50004004401162A3", "iban_format"),  # DK BBAN is digits only
    ],
)
def test_iban_shape_errors(iban, code):
    with raises_code(code, "iban"):
        parse_account(iban=iban, bic=GB_BIC)


def test_iban_length_message_gives_the_expected_length():
    with pytest.raises(IdentifierError) as info:
        parse_account(iban="DK500040044011624")
    with translation.override("en"):
        assert str(info.value) == "An IBAN from DK must be 18 characters long."


def test_foreign_account_never_holds_a_danish_iban():
    with pytest.raises(ValueError, match="non-Danish"):
        ForeignAccount(DK_IBAN, "NDEADKKK")
    with pytest.raises(ValueError, match="normalised"):
        ForeignAccount("gb82west12345698765432", GB_BIC)


# --- the account object as the API sends it -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({}, "account_missing", "account"),
        ({"reg": "", "number": " ", "iban": None, "bic": ""}, "account_missing", "account"),
        ({"reg": "1551", "number": "123", "iban": DK_IBAN}, "account_ambiguous", "account"),
        ({"reg": "1551", "number": "123", "bic": "DABADKKK"}, "account_ambiguous", "account"),
        ({"reg": "1551"}, "number_required", "number"),
        ({"reg": "1551", "number": ""}, "number_required", "number"),
        ({"number": "123"}, "reg_required", "reg"),
        ({"bic": GB_BIC}, "iban_required", "iban"),
    ],
)
def test_parse_account_needs_one_complete_form(kwargs, code, field):
    with raises_code(code, field):
        parse_account(**kwargs)


# --- masking ------------------------------------------------------------------------------------


def test_masking():
    assert mask_account_number("0000001234") == "****1234"
    assert DanishAccount("1551", "0000001234").masked == "****1234"
    assert parse_account(reg="1551", number="12").masked == "****0012"
    assert ForeignAccount(GB_IBAN, GB_BIC).masked == "****5432"


# --- the error ----------------------------------------------------------------------------------


def test_error_is_a_value_error_with_code_field_and_message():
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the class itself is under test
        parse_cvr("13585627")
    error = info.value
    assert isinstance(error, IdentifierError)
    with translation.override("en"):
        assert str(error) == (
            "The CVR number 13585627 is not valid. Check that all 8 digits are correct."
        )
        validation_error = error.as_validation_error()
        assert validation_error.code == "cvr_checksum"
        assert validation_error.messages == [str(error)]


def test_error_message_is_lazy_and_follows_the_active_language():
    with translation.override("da"), pytest.raises(IdentifierError) as info:
        parse_se_number("1")
    assert isinstance(info.value.message, Promise)
    with translation.override("en"):
        assert str(info.value) == "The SE number must be 8 digits."


def test_error_survives_pickling():
    with pytest.raises(IdentifierError) as info:
        parse_account(reg=UNKNOWN_REG, number="1")
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own object
    assert (copy.code, copy.field, copy.params) == ("reg_unknown", "reg", {"reg": UNKNOWN_REG})
    with translation.override("en"):
        assert str(copy) == str(info.value)


# --- properties ---------------------------------------------------------------------------------

cpr_dates = st.dates(min_value=datetime.date(1858, 1, 1), max_value=datetime.date(2057, 12, 31))


def _stdnum_birth_date(number: str) -> datetime.date | None:
    try:
        return stdnum_cpr.get_birth_date(number)
    except StdnumValidationError:
        return None


@given(
    date=cpr_dates,
    tail=st.text(alphabet="0123456789", min_size=3, max_size=3),
    separator=st.sampled_from(["", "-", " "]),
    data=st.data(),
)
def test_every_real_date_makes_a_cpr_with_that_birth_date(date, tail, separator, data):
    ddmmyy = date.strftime("%d%m%y")
    # stdnum is the independent oracle for which 7th digits put the date in its century.
    sevenths = [d for d in "0123456789" if _stdnum_birth_date(f"{ddmmyy}{d}000") == date]
    seventh = data.draw(st.sampled_from(sevenths))
    cpr = parse_cpr(f"{ddmmyy}{separator}{seventh}{tail}")
    assert cpr.number == f"{ddmmyy}{seventh}{tail}"
    assert cpr_birth_date(cpr) == date
    assert cpr_birth_date(cpr.formatted) == date


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_ten_digits_agree_with_stdnum_birth_date(number):
    expected = _stdnum_birth_date(number)
    if expected is None:
        with raises_code("cpr_invalid_date"):
            parse_cpr(number)
    else:
        assert cpr_birth_date(number) == expected


@given(st.text(max_size=14))
def test_cpr_parse_either_normalises_or_raises(raw):
    try:
        number, code = parse_cpr(raw).number, None
    except IdentifierError as error:
        number, code = None, error.code
    if number is None:
        assert code in {"cpr_format", "cpr_invalid_date"}
    else:
        assert len(number) == 10
        assert number.isascii()
        assert number.isdigit()


@given(kind=st.sampled_from(list(IdKind)), raw=digits)
def test_normalisation_is_idempotent(kind, raw):
    try:
        once = parse_recipient_id(kind, raw)
    except IdentifierError:
        return
    assert parse_recipient_id(kind, once.number) == once
    assert parse_recipient_id(kind, once.formatted) == once


@given(st.lists(st.integers(0, 9), min_size=7, max_size=7).filter(lambda ds: ds[0] != 0))
def test_computed_cvr_validates_and_any_one_digit_change_breaks_it(first_seven):
    check = -sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2), first_seven, strict=True)) % 11
    assume(check != 10)  # no CVR number exists with this prefix
    number = "".join(map(str, [*first_seven, check]))
    assert parse_cvr(number).number == number
    for position in range(8):
        for replacement in "0123456789":
            if replacement == number[position]:
                continue
            changed = number[:position] + replacement + number[position + 1 :]
            with pytest.raises(IdentifierError):
                parse_cvr(changed)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_ten_digits_are_a_p_number(number):
    assert parse_p_number(number).number == number


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_any_eight_digits_are_an_se_number(number):
    assert parse_se_number(number).number == number


@given(digits.filter(lambda s: len(s) not in (8, 10)))
def test_p_and_se_reject_other_lengths(number):
    with raises_code("p_format"):
        parse_p_number(number)
    with raises_code("se_format"):
        parse_se_number(number)


danish_accounts = st.builds(
    parse_danish_account,
    reg=st.sampled_from(KNOWN_REGS),
    number=st.text(alphabet="0123456789", min_size=1, max_size=10),
)


@slow_ok
@given(danish_accounts)
def test_danish_account_iban_round_trip(account):
    assert len(account.number) == 10
    assert parse_account(iban=account.iban) == account
    assert parse_account(reg=account.reg, number=account.number) == account
    assert account.masked == "****" + account.number[-4:]


@slow_ok
@given(account=danish_accounts, position=st.integers(4, 17), data=st.data())
def test_danish_iban_with_one_digit_changed_is_rejected(account, position, data):
    iban = account.iban
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != iban[position]]))
    changed = iban[:position] + replacement + iban[position + 1 :]
    with pytest.raises(IdentifierError) as info:
        parse_account(iban=changed)
    assert info.value.code == "iban_checksum"


@slow_ok
@given(
    country=st.sampled_from(["DE", "GB", "FR", "NL", "SE", "NO", "FI", "PL"]),
    random=st.randoms(use_true_random=False),
    wrong_check=st.integers(2, 98),
)
def test_foreign_iban_round_trip_and_check_digits(country, random, wrong_check):
    iban = str(IBAN.random(country, random=random))
    account = parse_account(iban=iban, bic=GB_BIC)
    assert account == ForeignAccount(iban, GB_BIC)
    assert parse_account(iban=account.iban, bic=account.bic) == account
    assume(f"{wrong_check:02d}" != iban[2:4])
    with raises_code("iban_checksum", "iban"):
        parse_account(iban=f"{iban[:2]}{wrong_check:02d}{iban[4:]}", bic=GB_BIC)
