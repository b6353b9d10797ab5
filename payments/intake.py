"""Reading a batch as it arrives: the body spooled once (size limit, gzip, hash), then the
envelope and a stream of payments in the JSON shape, whatever the format (API.md, Submit a batch).

Nothing here holds a whole batch in memory: the body is spooled to a temporary file (in memory
while small), and payments are parsed one at a time (ijson's C backend for JSON, the csv module,
a streaming pain.001 reader), so a batch of a million payments stays within the worker's memory.
"""

import csv
import datetime
import hashlib
import io
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

import ijson
from django.conf import settings
from django.utils.translation import gettext as _

from nemkonto.errors import ApplicationError, ValidationFailed
from nemkonto.json_depth import json_nesting_exceeds
from payments.models import BatchFormat

CSV_COLUMNS = (
    "reference",
    "recipient_type",
    "recipient_id",
    "benefit",
    "amount",
    "text",
    "reg",
    "number",
    "iban",
    "bic",
)
ENVELOPE_FIELDS = ("authority", "los_unit", "bank_agreement", "requested_value_date", "dry_run")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A payment is nested 4 deep (batch, payments, payment, recipient). ijson's cost grows with the
# square of the depth (a 200 KB body of nested arrays takes minutes and gigabytes), so JSON nested
# deeper than this is refused before it is parsed (nemkonto.json_depth).
JSON_MAX_DEPTH = 32
_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_CHUNK = 256 * 1024


class BodyTooLarge(ApplicationError):
    status = 413
    title = "Content too large"


class UnsupportedFormat(ApplicationError):
    status = 415
    title = "Unsupported media type"


class MalformedBody(ApplicationError):
    status = 400
    title = "Bad request"


@dataclass
class SpooledBody:
    """The request body, decompressed, in a rewindable file, with its SHA-256."""

    file: IO[bytes]
    sha256: str
    size: int

    def rewind(self) -> IO[bytes]:
        self.file.seek(0)
        return self.file


def max_batch_bytes() -> int:
    return int(settings.NEMKONTO_BATCH_MAX_BYTES)


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        _("The batch is larger than %(limit)d MiB; split it into several batches.")
        % {"limit": limit // (1024 * 1024)},
        code="too_large",
    )


def spool_body(stream: IO[bytes], *, content_length: int | None, gzipped: bool) -> SpooledBody:
    """Copy the request body to a temporary file, refusing more than the limit (after
    decompression too, so a small gzip bomb is refused like a large body)."""
    limit = max_batch_bytes()
    if content_length is not None and content_length > limit:
        raise _too_large(limit)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if gzipped else None
    try:
        while chunk := stream.read(_CHUNK):
            if decompressor is not None:
                chunk = decompressor.decompress(chunk, limit + 1 - size)
                if decompressor.unconsumed_tail:
                    raise _too_large(limit)
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            spool.write(chunk)
        if decompressor is not None and not decompressor.eof:
            raise MalformedBody(_("The gzip stream is truncated."), code="malformed_gzip")
    except zlib.error:
        spool.close()
        raise MalformedBody(_("The body is not valid gzip."), code="malformed_gzip") from None
    except ApplicationError:
        spool.close()
        raise
    spool.seek(0)
    return SpooledBody(file=spool, sha256=digest.hexdigest(), size=size)


def format_for(content_type: str) -> str:
    """The batch format of a Content-Type; raises UnsupportedFormat."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/json", ""):
        return BatchFormat.JSON
    if media in ("text/csv", "application/csv"):
        return BatchFormat.CSV
    if media in ("application/xml", "text/xml"):
        return BatchFormat.PAIN001
    raise UnsupportedFormat(
        _("Send the batch as application/json, text/csv or application/xml (pain.001)."),
        code="unsupported_media_type",
    )


@dataclass
class Envelope:
    """The batch's envelope as sent (checked against the organisation by the service)."""

    authority: str = ""
    los_unit: str = ""
    bank_agreement: str = ""
    requested_value_date: datetime.date | None = None
    dry_run: bool = False
    errors: list[dict[str, str]] = field(default_factory=list)

    def set(self, name: str, value: Any) -> None:
        if name == "requested_value_date":
            self.requested_value_date = self._date(value)
        elif name == "dry_run":
            if value in (True, False, "true", "false", "1", "0"):
                self.dry_run = value in (True, "true", "1")
            else:
                self._error(name, "invalid", _("dry_run must be true or false."))
        elif not isinstance(value, str):
            self._error(name, "not_a_string", _("The value must be a string."))
        elif not value.isprintable():
            self._error(name, "control_characters", _("The value contains control characters."))
        else:
            setattr(self, name, value.strip())

    def _date(self, value: Any) -> datetime.date | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            self._error("requested_value_date", "invalid_date", _("Give the date as YYYY-MM-DD."))
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self._error("requested_value_date", "invalid_date", _("Give the date as YYYY-MM-DD."))
            return None

    def _error(self, name: str, code: str, message: str) -> None:
        error = {"field": name, "code": code, "message": message}
        if error not in self.errors:  # a list or object value reports at its start and end
            self.errors.append(error)

    def check(self) -> None:
        """Raise ValidationFailed naming every missing or malformed envelope field."""
        for name in ("authority", "los_unit", "bank_agreement"):
            refused = any(error["field"] == name for error in self.errors)
            if not getattr(self, name) and not refused:
                self._error(name, "required", _("This field is required."))
        if self.errors:
            raise ValidationFailed(
                _("The batch's envelope has errors; see the list of errors."),
                code="invalid_envelope",
                errors=self.errors,
            )


def _malformed_json(error: Exception) -> MalformedBody:
    return MalformedBody(
        _("The body is not valid JSON: %(error)s") % {"error": error}, code="malformed_json"
    )


def _json_envelope_before_payments(body: SpooledBody, envelope: Envelope) -> bool:
    """Read the envelope fields up to ``payments``; False if there are none."""
    try:
        events = ijson.parse(body.rewind())
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise MalformedBody(
                _("The body must be a JSON object with the envelope and payments."),
                code="not_an_object",
            )
        for prefix, event, value in events:
            if prefix == "" and event == "map_key" and value == "payments":
                return True
            if "." not in prefix and prefix in ENVELOPE_FIELDS and event != "map_key":
                envelope.set(prefix, value)
    except ijson.JSONError as error:
        raise _malformed_json(error) from None
    return False


def _ends_with_payments(body: SpooledBody) -> bool:
    """Whether ``payments`` closes the object (``...]}``): then nothing follows the array, since
    every envelope field is a scalar."""
    file = body.file
    file.seek(max(0, body.size - 64))
    tail = file.read().rstrip()
    return tail.endswith(b"}") and tail[:-1].rstrip().endswith(b"]")


def _json_envelope_after_payments(body: SpooledBody, envelope: Envelope) -> None:
    try:
        for prefix, event, value in ijson.parse(body.rewind()):
            if "." not in prefix and prefix in ENVELOPE_FIELDS and event != "map_key":
                envelope.set(prefix, value)
    except ijson.JSONError as error:
        raise _malformed_json(error) from None


def _json_payments(body: SpooledBody) -> Iterator[Any]:
    try:
        yield from ijson.items(body.rewind(), "payments.item")
    except ijson.JSONError as error:
        raise _malformed_json(error) from None


def read_json(body: SpooledBody) -> tuple[Envelope, Iterator[Any]]:
    """The envelope and the payments of a JSON batch. The envelope normally precedes the
    payments (as in API.md) and is read without parsing them; fields after them are read by a
    second pass."""
    if json_nesting_exceeds(body.rewind(), JSON_MAX_DEPTH):
        raise MalformedBody(
            _("The JSON is nested more than %(depth)d levels deep.") % {"depth": JSON_MAX_DEPTH},
            code="too_deep",
        )
    envelope = Envelope()
    if not _json_envelope_before_payments(body, envelope):
        raise ValidationFailed(_("The batch has no payments."), field="payments", code="required")
    if not _ends_with_payments(body):
        _json_envelope_after_payments(body, envelope)
    return envelope, _json_payments(body)


def envelope_from_query(params: Any) -> Envelope:
    """The envelope of a CSV or pain.001 batch, from the query parameters."""
    envelope = Envelope()
    for name in ENVELOPE_FIELDS:
        if name in params:
            envelope.set(name, params.get(name))
    return envelope


def _csv_payments(body: SpooledBody) -> Iterator[dict[str, Any]]:
    text = io.TextIOWrapper(body.rewind(), encoding="utf-8", errors="strict", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None or tuple(h.strip().lstrip("\ufeff") for h in header) != CSV_COLUMNS:
            raise MalformedBody(
                _("The first line of the CSV must be: %(header)s")
                % {"header": ",".join(CSV_COLUMNS)},
                code="csv_header",
            )
        for row in reader:
            if not row:
                continue
            if len(row) != len(CSV_COLUMNS):
                raise MalformedBody(
                    _("Line %(line)d of the CSV has %(found)d columns, not %(wanted)d.")
                    % {"line": reader.line_num, "found": len(row), "wanted": len(CSV_COLUMNS)},
                    code="malformed_csv",
                )
            values = dict(zip(CSV_COLUMNS, row, strict=True))
            account = {k: values[k] for k in ("reg", "number", "iban", "bic") if values[k]}
            yield {
                "reference": values["reference"],
                "recipient": {"type": values["recipient_type"], "id": values["recipient_id"]},
                "benefit": values["benefit"],
                "amount": values["amount"],
                "text": values["text"],
                "account": account or None,
            }
    except UnicodeDecodeError:
        raise MalformedBody(_("The CSV is not valid UTF-8."), code="malformed_csv") from None
    except csv.Error as error:
        raise MalformedBody(
            _("The CSV is malformed on line %(line)d: %(error)s")
            % {"line": reader.line_num, "error": error},
            code="malformed_csv",
        ) from None


def read_csv(body: SpooledBody, params: Any) -> tuple[Envelope, Iterator[dict[str, Any]]]:
    return envelope_from_query(params), _csv_payments(body)


def read_pain001(body: SpooledBody, params: Any) -> tuple[Envelope, Iterator[dict[str, Any]]]:
    """A pain.001 batch: payments mapped to the JSON shape (payments.iso20022.pain001_reader)."""
    from payments.iso20022.errors import InvalidXml
    from payments.iso20022.pain001_reader import iter_pain001, pain001_to_api_payments

    def payments() -> Iterator[dict[str, Any]]:
        try:
            yield from pain001_to_api_payments(iter_pain001(cast(BinaryIO, body.rewind())))
        except InvalidXml as error:
            raise MalformedBody(
                _("The pain.001 document is not valid: %(error)s") % {"error": error},
                code="malformed_xml",
            ) from None

    return envelope_from_query(params), payments()


def read_batch(
    body: SpooledBody, source_format: str, params: Any
) -> tuple[Envelope, Iterator[Any]]:
    if source_format == BatchFormat.CSV:
        return read_csv(body, params)
    if source_format == BatchFormat.PAIN001:
        return read_pain001(body, params)
    return read_json(body)
