"""Hostile and malformed input: DOCTYPE / entities refused, errors carry line numbers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree

from payments.iso20022.errors import InvalidXml
from payments.iso20022.safe_parse import CHUNK_SIZE, iterparse
from payments.iso20022.schemas import pain001_schema, validate_file
from payments.tests.iso20022.builders import danish_transfers, pain001_bytes

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz a="&lol9;">&lol9;</lolz>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">&xxe;</Document>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/evil.dtd">
<Document/>
"""


def _all(source: object, **kwargs: object) -> list[str]:
    return [e.tag for e in iterparse(source, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_doctype_and_entities_are_refused(document: bytes) -> None:
    with pytest.raises(InvalidXml, match="DOCTYPE not allowed") as caught:
        _all(io.BytesIO(document))
    assert caught.value.line == 2


def test_billion_laughs_refused_by_the_readers_and_validator(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_bytes(BILLION_LAUGHS)
    with pytest.raises(InvalidXml, match="DOCTYPE not allowed"):
        validate_file(path, pain001_schema())


def test_entity_declaration_without_doctype_keyword_is_refused() -> None:
    with pytest.raises(InvalidXml, match="DOCTYPE not allowed") as caught:
        _all(io.BytesIO(b'<a>\n<b/>\n<!ENTITY x "y">\n</a>'))
    assert caught.value.line == 3


def test_doctype_split_across_two_chunks_is_caught() -> None:
    prolog = b'<?xml version="1.0"?>\n<!--' + b"x" * (CHUNK_SIZE - 100) + b"-->\n"
    split = CHUNK_SIZE - len(prolog) - 4  # "<!DOC" | "TYPE"
    document = prolog + b" " * split + b'<!DOCTYPE a [<!ENTITY e "e">]>\n<a>&e;</a>'
    assert document.index(b"<!DOCTYPE") < CHUNK_SIZE < document.index(b"<!DOCTYPE") + 9
    with pytest.raises(InvalidXml, match="DOCTYPE not allowed") as caught:
        _all(io.BytesIO(document))
    assert caught.value.line == 3


def test_undefined_entity_reference_is_malformed() -> None:
    with pytest.raises(InvalidXml, match="xxe") as caught:
        _all(io.BytesIO(b"<a>\n<b>&xxe;</b>\n</a>"))
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("document", "line"),
    [
        (b"<a>\n<b>\n</a>\n", 3),  # mismatched tag
        (b'<a>\n<b x="1" x="2"/>\n</a>', 2),  # duplicate attribute
        (b"<a>\n</a>\n<b/>", 3),  # content after the root
        (b"<a>\n<b>", 2),  # truncated
    ],
)
def test_malformed_xml_gives_a_line(document: bytes, line: int) -> None:
    with pytest.raises(InvalidXml) as caught:
        _all(io.BytesIO(document))
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


def test_non_utf8_documents_are_refused() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16")
    with pytest.raises(InvalidXml, match="UTF-8"):
        _all(io.BytesIO(utf16))


def test_empty_document() -> None:
    with pytest.raises(InvalidXml, match="empty document"):
        _all(io.BytesIO(b"  \n "))


def test_utf8_bom_and_leading_space_are_fine() -> None:
    assert _all(io.BytesIO(b"\xef\xbb\xbf \n<a><b/></a>")) == ["b", "a"]


def test_expect_root() -> None:
    with pytest.raises(InvalidXml, match="expected root element"):
        _all(io.BytesIO(b"<a><b/></a>"), expect_root="{urn:x}Document")


def test_handled_elements_are_released_as_the_stream_goes() -> None:
    """Constant memory: the tree never holds more than what one 64 KiB chunk parsed ahead."""
    document = b"<r>" + b"".join(b"<x><y>%d</y></x>\n" % i for i in range(30_000)) + b"</r>"
    widest = 0
    seen = 0
    for element in iterparse(io.BytesIO(document), tags=["x"]):
        seen += 1
        parent = element.getparent()
        assert parent is not None
        if seen % 97 == 0:  # len() walks the children: sample it
            widest = max(widest, len(parent))
        assert element.findtext("y") == str(seen - 1)
    assert seen == 30_000
    assert widest <= CHUNK_SIZE // len(b"<x><y>0</y></x>\n") + 2


def test_validation_error_line_is_exact_for_paths_and_seekable_streams(tmp_path: Path) -> None:
    data = pain001_bytes(danish_transfers(3000))
    target = data.index(b"<InstdAmt", len(data) // 2)
    bad = data[:target] + data[target:].replace(b'Ccy="DKK">', b'Ccy="DKK">1.2.3', 1)
    line = bad[:target].count(b"\n") + 1
    path = tmp_path / "bad.xml"
    path.write_bytes(bad)
    for source in (path, str(path), io.BytesIO(bad)):
        with pytest.raises(InvalidXml, match="InstdAmt") as caught:
            validate_file(source, pain001_schema())
        assert caught.value.line == line


class _OneWayStream(io.BytesIO):
    """A stream that cannot be read again (like a network upload)."""

    def seekable(self) -> bool:
        return False


def test_validation_error_line_is_approximate_for_one_way_streams() -> None:
    data = pain001_bytes(danish_transfers(3000))
    target = data.index(b"<InstdAmt", len(data) // 2)
    bad = data[:target] + data[target:].replace(b'Ccy="DKK">', b'Ccy="DKK">x', 1)
    line = bad[:target].count(b"\n") + 1
    with pytest.raises(InvalidXml, match="not valid against the XSD") as caught:
        validate_file(_OneWayStream(bad), pain001_schema())
    # The first line of the 64 KiB chunk that held the error: at most ~300 lines before it.
    assert line - 400 < caught.value.line <= line


def test_missing_element_is_reported_where_its_parent_ends() -> None:
    data = pain001_bytes(danish_transfers(2))
    bad = data.replace(b"<CreDtTm>", b"<Foo>", 1).replace(b"</CreDtTm>", b"</Foo>", 1)
    with pytest.raises(InvalidXml, match="Foo") as caught:
        validate_file(io.BytesIO(bad), pain001_schema())
    assert caught.value.line == 2


def test_iterparse_without_tags_reports_everything() -> None:
    tags = _all(io.BytesIO(b"<a><b><c/></b></a>"))
    assert tags == ["c", "b", "a"]


def test_no_network_even_when_a_doctype_slips_past_the_byte_check() -> None:
    """The parser options alone (second layer) never fetch or expand anything."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(EXTERNAL_ENTITY, parser)
    assert "root:" not in etree.tostring(root).decode()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<a>" * 5000 + b"</a>" * 5000, "depth"),
        (b"<a>" + b"x" * (11 * 1024 * 1024) + b"</a>", "too long"),
    ],
)
def test_libxml2_resource_limits_stay_on(document: bytes, message: str) -> None:
    with pytest.raises(InvalidXml, match=message):
        _all(io.BytesIO(document))
