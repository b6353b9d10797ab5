"""The one way we read untrusted XML: streaming, defused, with line numbers on every error.

Every reader in this package (and :func:`payments.iso20022.schemas.validate_file`) goes through
:func:`iterparse`. It

* refuses any document type declaration: ``<!DOCTYPE`` or ``<!ENTITY`` anywhere in the bytes
  is rejected *before* libxml2 sees it (so no entity expansion, "billion laughs", or external
  entities / XXE), and the parsed document info is checked again as a second layer;
* accepts only ASCII-compatible encodings (ISO 20022 files are UTF-8): the document must start
  with ``<`` after an optional UTF-8 byte order mark and white space;
* never touches the network or the file system beyond the source (``no_network``, no DTD
  loading, no entity resolution), and keeps libxml2's size limits (``huge_tree=False``);
* feeds the parser in fixed chunks and clears every reported element after the caller has
  looked at it (and drops its already processed siblings), so memory stays constant however
  many transactions the file holds;
* optionally validates against an XSD *while* streaming, and reports the first validation
  error with its line number. libxml2 reports streaming validation errors without a line, so
  the chunk that produced the error is found during the pass and, when the source can be read
  again (a path or a seekable stream), that chunk is fed again line by line to find the exact
  line. For a non-seekable stream the first line of that chunk is reported. (With an XSD
  plugged in, libxml2 also swallows well-formedness errors; they are found the same way, by
  parsing a re-readable source again without the XSD.)

All errors are :class:`~payments.iso20022.errors.InvalidXml` with a 1-based line number.

It is built on ``lxml.etree.XMLPullParser`` (the machinery behind ``etree.iterparse``), fed in
64 KiB chunks, because some errors are only visible between two feeds: libxml2 reports them to
lxml's thread-global error log, which is cleared before and read after every feed. Other code
in the same thread that relies on that global log (rare) would see it cleared.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from lxml import etree

from payments.iso20022.errors import InvalidXml

type Source = Path | str | BinaryIO
"""A file path, or a binary stream opened for reading."""

CHUNK_SIZE: Final = 64 * 1024

# Markup that only a document type declaration can contain. Both are refused anywhere in the
# document: a legitimate payment file never contains them (in text they would be escaped).
_FORBIDDEN = re.compile(rb"<!DOCTYPE|<!ENTITY")
_OVERLAP = 8  # len(b"<!DOCTYPE") - 1: keep this many bytes to catch a split marker
_UTF8_BOM = b"\xef\xbb\xbf"
_XML_SPACE = b" \t\r\n"


def _parser(schema: etree.XMLSchema | None, events: tuple[str, ...], tag: object) -> object:
    return etree.XMLPullParser(
        events=events,
        tag=tag,
        schema=schema,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


@contextmanager
def _opened(source: Source) -> Iterator[tuple[BinaryIO, bool, int]]:
    """Yield (stream, can_reread, start_position)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as fh:
            yield fh, True, 0
        return
    try:
        seekable = bool(source.seekable())
        start = source.tell() if seekable else 0
    except (AttributeError, OSError, ValueError):
        seekable, start = False, 0
    yield source, seekable, start


class _Guard:
    """Byte-level checks applied to every chunk before the parser sees it."""

    __slots__ = ("line", "started", "tail")

    def __init__(self) -> None:
        self.tail = b""
        self.line = 1  # line number at the start of the next chunk
        self.started = False

    def check(self, chunk: bytes) -> None:
        if not self.started:
            head = chunk.removeprefix(_UTF8_BOM).lstrip(_XML_SPACE)
            if not head:
                self.line += chunk.count(b"\n")
                return  # only white space so far
            if head[:1] != b"<":
                raise InvalidXml(
                    "not an XML document in UTF-8 (ISO 20022 files must be UTF-8)", self.line
                )
            self.started = True
        window = self.tail + chunk
        match = _FORBIDDEN.search(window)
        if match is not None:
            line = self.line - self.tail.count(b"\n") + window.count(b"\n", 0, match.start())
            raise InvalidXml("DOCTYPE not allowed (document type and entity declarations)", line)
        self.tail = window[-_OVERLAP:]
        self.line += chunk.count(b"\n")


def _check_docinfo(element: etree._Element) -> None:
    """Second layer: the parsed document must have no DOCTYPE at all."""
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidXml("DOCTYPE not allowed (document type and entity declarations)", 1)


_POSITION_SUFFIX = re.compile(r", line \d+(, column \d+)?$")
_SCHEMA_VALIDITY_ERRORS = range(1800, 1900)  # libxml2's XML_SCHEMAV_* error codes


def _syntax_error(exc: etree.XMLSyntaxError, fallback_line: int) -> InvalidXml:
    """The first error of a failed feed or close, with its line.

    The thread-global lxml error log is cleared before every feed and close, so the copy of
    it that the exception carries holds exactly the errors of that call. It is preferred to
    ``exc.msg``, which lxml builds from the parser's own log: that log misses some errors (an
    undefined entity, for instance, arrives as "no element found").
    """
    entries = [e for e in exc.error_log if e.level >= etree.ErrorLevels.ERROR]
    if entries:
        first = entries[0]
        message, line = str(first.message).strip(), first.line
        schema_error = first.domain == etree.ErrorDomains.SCHEMASV
    else:
        message = _POSITION_SUFFIX.sub("", exc.msg or str(exc)).strip()
        line = exc.lineno or 0
        schema_error = exc.code in _SCHEMA_VALIDITY_ERRORS
    if schema_error:
        message = f"not valid against the XSD: {message}"
    return InvalidXml(message, line if line > 0 else fallback_line)


def _first_error_seen() -> etree._LogEntry | None:
    """The first error in this thread's global lxml error log, if any.

    libxml2 reports some errors only to lxml's thread-global error log while parsing: XSD
    validation errors (the parser's own log receives them when it is closed) and errors the
    push parser survives (an undefined entity, for instance). The public way to read the
    global log is the ``error_log`` that an lxml exception copies when it is created.
    """
    for entry in etree.LxmlError("probe").error_log:
        if entry.level >= etree.ErrorLevels.ERROR:
            return entry
    return None


def _feed(parser: object, data: bytes) -> etree._LogEntry | None:
    """Feed ``data``; return the first error it caused without raising, if any."""
    # Cleared right before this (synchronous) feed, so whatever appears came from it.
    etree.clear_error_log()
    parser.feed(data)  # type: ignore[attr-defined]
    return _first_error_seen()


def _locate_validation_error(
    stream: BinaryIO, start: int, schema: etree.XMLSchema, chunk_index: int
) -> tuple[str, int] | None:
    """Feed the document again, the failing chunk and the one before line by line."""
    stream.seek(start)
    parser = _parser(schema, (), None)
    line = 1
    try:
        for index in range(chunk_index + 1):
            chunk = stream.read(CHUNK_SIZE)
            pieces = [chunk] if index < chunk_index - 1 else chunk.splitlines(keepends=True)
            for piece in pieces:
                entry = _feed(parser, piece)
                if entry is not None:
                    return str(entry.message).strip(), line
                line += piece.count(b"\n")
    except etree.XMLSyntaxError:
        return None
    return None


def _locate_syntax_error(stream: BinaryIO, start: int) -> InvalidXml | None:
    """Parse the document again without the XSD to find a well-formedness error.

    With a schema plugged in, libxml2 swallows well-formedness errors: the parser just stops,
    and closing it reports "no element found" without a line.
    """
    stream.seek(start)
    parser = _parser(None, (), None)
    line = 1
    try:
        while chunk := stream.read(CHUNK_SIZE):
            entry = _feed(parser, chunk)
            if entry is not None:
                return InvalidXml(str(entry.message).strip(), entry.line or line)
            line += chunk.count(b"\n")
        etree.clear_error_log()
        parser.close()  # type: ignore[attr-defined]
    except etree.XMLSyntaxError as exc:
        return _syntax_error(exc, line)
    return None


def iterparse(
    source: Source,
    *,
    tags: Collection[str] | None = None,
    schema: etree.XMLSchema | None = None,
    expect_root: str | None = None,
    clear: bool = True,
) -> Generator[etree._Element]:
    """Stream the elements named in ``tags`` (Clark notation ``{ns}Name``) at their end tag.

    With ``tags=None`` every element is reported. After the caller has handled an element
    (when the generator resumes) it is cleared and its earlier siblings are deleted, unless
    ``clear=False``: read what you need from an element before asking for the next one.
    ``expect_root`` (Clark notation) checks the root element; ``schema`` validates on the fly.
    """
    tag_filter = list(tags) if tags is not None else None
    with _opened(source) as (stream, can_reread, start):
        parser = _parser(schema, ("end",), tag_filter)
        guard = _Guard()
        checked = False
        chunk_index = 0
        while True:
            chunk = stream.read(CHUNK_SIZE)
            if not chunk:
                break
            chunk_line = guard.line
            guard.check(chunk)
            try:
                error = _feed(parser, chunk)
            except etree.XMLSyntaxError as exc:
                raise _syntax_error(exc, chunk_line) from None
            if error is not None:
                message = str(error.message).strip()
                if error.domain != etree.ErrorDomains.SCHEMASV or schema is None:
                    raise InvalidXml(message, error.line if error.line > 0 else chunk_line)
                located = None
                if can_reread:
                    located = _locate_validation_error(stream, start, schema, chunk_index)
                message, line = located or (message, chunk_line)
                raise InvalidXml(f"not valid against the XSD: {message}", line)
            for _event, element in parser.read_events():  # type: ignore[attr-defined]
                if not checked:
                    _check_docinfo(element)
                    if expect_root is not None:
                        _check_root(element, expect_root)
                    checked = True
                yield element
                if clear:
                    _release(element)
            chunk_index += 1
        if not guard.started:
            raise InvalidXml("empty document", guard.line)
        etree.clear_error_log()
        try:
            root = parser.close()  # type: ignore[attr-defined]
        except etree.XMLSyntaxError as exc:
            error = _syntax_error(exc, guard.line)
            if schema is not None and can_reread and not error.message.startswith("not valid"):
                error = _locate_syntax_error(stream, start) or error
            raise error from None
        if root is None:
            # With an XSD plugged in, libxml2 may swallow the syntax error of a document that
            # never opens its root element ("<<<", a lone XML declaration): close() returns None.
            raise (can_reread and _locate_syntax_error(stream, start)) or InvalidXml(
                "no root element", guard.line
            )
        if not checked:
            _check_docinfo(root)
            if expect_root is not None:
                _check_root(root, expect_root)
        for _event, element in parser.read_events():  # type: ignore[attr-defined]
            yield element


def _check_root(element: etree._Element, expect_root: str) -> None:
    root = element.getroottree().getroot()
    if root.tag != expect_root:
        raise InvalidXml(f"expected root element {expect_root}, found {root.tag}", root.sourceline)


def _release(element: etree._Element) -> None:
    """Free a handled element and the siblings handled before it (constant memory)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def first_text(element: etree._Element, path: str) -> str:
    """Text of the first element at ``path`` (stripped), or ""."""
    text = element.findtext(path)
    return text.strip() if text else ""
