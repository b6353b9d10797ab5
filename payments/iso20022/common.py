"""Small helpers shared by the ISO 20022 writers and readers: namespaces, escaping, amounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from payments.iso20022.errors import InvalidXml

PAIN001_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
PAIN002_NS = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
CAMT054_NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"

PAIN001_NAME = "pain.001.001.09"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# How many rendered records the writers collect before one write() to the output.
WRITE_BATCH = 2048


@dataclass(frozen=True, slots=True)
class FileTotals:
    """What a writer wrote: number of transactions (entries) and their sum in øre."""

    count: int
    sum_ore: int


# Characters XML 1.0 forbids in a document (they would make it malformed): replaced by a space.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """Escape ``text`` for XML element content (not for attribute values).

    The common case (printable text without markup characters) costs three substring checks;
    ``str.translate`` with a table is an order of magnitude slower.
    """
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORBIDDEN_CHARS.sub(" ", text)


def format_ore(amount_ore: int) -> str:
    """12345 -> "123.45" (DKK with two decimals). Negative amounts are not allowed in ISO."""
    if amount_ore < 0:
        raise ValueError(f"amount must not be negative: {amount_ore}")
    kroner, ore = divmod(amount_ore, 100)
    return f"{kroner}.{ore:02d}"


def require_aware(moment: datetime, what: str) -> str:
    """ISO 8601 with offset, seconds precision; refuses naive datetimes."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.isoformat(timespec="seconds")


def parse_decimal(text: str | None, what: str, line: int) -> Decimal:
    if text is None or not text.strip():
        raise InvalidXml(f"{what} is missing", line)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidXml(f"{what} is not a number: {text!r}", line) from None
    if not value.is_finite():
        raise InvalidXml(f"{what} is not a number: {text!r}", line)
    return value


def decimal_to_ore(value: Decimal, what: str, line: int) -> int:
    """Decimal DKK -> integer øre; refuses fractions of an øre."""
    ore = value.scaleb(2)
    if ore != ore.to_integral_value():
        raise InvalidXml(f"{what} has more than two decimals: {value}", line)
    return int(ore)


def parse_iso_date(text: str | None, what: str, line: int) -> date:
    """ISODate, or the date part of an ISODateTime."""
    if not text:
        raise InvalidXml(f"{what} is missing", line)
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidXml(f"{what} is not a date: {text!r}", line) from None


class ChunkedWriter:
    """Collects rendered text and writes it to a binary stream in UTF-8 batches."""

    __slots__ = ("_out", "_parts")

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        parts = self._parts
        parts.append(text)
        if len(parts) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
