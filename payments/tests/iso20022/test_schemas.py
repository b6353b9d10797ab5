"""The XSDs load once, are the official ones we expect, and validate_file uses them."""

from __future__ import annotations

import hashlib
import io
from importlib import resources

import pytest
from lxml import etree

from payments.iso20022.common import CAMT054_NS, PAIN001_NS, PAIN002_NS
from payments.iso20022.errors import InvalidXml
from payments.iso20022.schemas import camt054_schema, pain001_schema, pain002_schema, validate_file
from payments.tests.iso20022.builders import danish_transfers, pain001_bytes

SCHEMAS = resources.files("payments.iso20022").joinpath("schemas")


def test_schemas_are_cached() -> None:
    assert pain001_schema() is pain001_schema()
    assert pain002_schema() is pain002_schema()
    assert camt054_schema() is camt054_schema()


@pytest.mark.parametrize(
    ("name", "namespace"),
    [("pain.002.001.10.xsd", PAIN002_NS), ("camt.054.001.08.xsd", CAMT054_NS)],
)
def test_vendored_schemas_match_the_readme(name: str, namespace: str) -> None:
    data = SCHEMAS.joinpath(name).read_bytes()
    root = etree.fromstring(data)
    assert root.get("targetNamespace") == namespace
    readme = SCHEMAS.joinpath("README.md").read_text()
    assert f"`{name}`: `{hashlib.sha256(data).hexdigest()}`" in readme


def test_pain001_schema_comes_from_sepaxml() -> None:
    data = resources.files("sepaxml").joinpath("schemas", "pain.001.001.09.xsd").read_bytes()
    assert etree.fromstring(data).get("targetNamespace") == PAIN001_NS


def test_a_document_of_another_type_is_not_valid() -> None:
    data = pain001_bytes(danish_transfers(2))
    validate_file(io.BytesIO(data), pain001_schema())
    with pytest.raises(InvalidXml, match="not valid against the XSD") as caught:
        validate_file(io.BytesIO(data), pain002_schema())
    assert caught.value.line == 2
