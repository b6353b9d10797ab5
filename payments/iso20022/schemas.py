"""The ISO 20022 XSDs we validate against, loaded once per process, and streaming validation.

* pain.001.001.09: shipped by the ``sepaxml`` package (``sepaxml/schemas/``), loaded from there.
* pain.002.001.10 and camt.054.001.08: vendored in ``payments/iso20022/schemas/`` (see the
  README there for where they come from).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from payments.iso20022.common import CAMT054_NS, PAIN001_NS, PAIN002_NS
from payments.iso20022.safe_parse import iterparse

# Elements that repeat once per transaction (or group of them) in the three message types:
# the streaming validator releases these as soon as they are validated.
RECORD_TAGS: frozenset[str] = frozenset(
    {
        f"{{{PAIN001_NS}}}CdtTrfTxInf",
        f"{{{PAIN001_NS}}}PmtInf",
        f"{{{PAIN002_NS}}}TxInfAndSts",
        f"{{{PAIN002_NS}}}OrgnlPmtInfAndSts",
        f"{{{CAMT054_NS}}}TxDtls",
        f"{{{CAMT054_NS}}}Ntry",
        f"{{{CAMT054_NS}}}Ntfctn",
    }
)


def _load(data: bytes) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(data, parser))


@functools.cache
def pain001_schema() -> etree.XMLSchema:
    """pain.001.001.09 (CustomerCreditTransferInitiationV09), from the sepaxml package."""
    data = resources.files("sepaxml").joinpath("schemas", "pain.001.001.09.xsd").read_bytes()
    return _load(data)


@functools.cache
def pain002_schema() -> etree.XMLSchema:
    """pain.002.001.10 (CustomerPaymentStatusReportV10), vendored."""
    data = (
        resources.files("payments.iso20022").joinpath("schemas", "pain.002.001.10.xsd").read_bytes()
    )
    return _load(data)


@functools.cache
def camt054_schema() -> etree.XMLSchema:
    """camt.054.001.08 (BankToCustomerDebitCreditNotificationV08), vendored."""
    data = (
        resources.files("payments.iso20022").joinpath("schemas", "camt.054.001.08.xsd").read_bytes()
    )
    return _load(data)


def validate_file(path: Path | str | BinaryIO, schema: etree.XMLSchema) -> None:
    """Validate a document against ``schema`` in one streaming pass with constant memory.

    Raises :class:`~payments.iso20022.errors.InvalidXml` with the line of the first problem:
    malformed XML, a DOCTYPE, or the first XSD validation error.
    """
    for _element in iterparse(path, tags=RECORD_TAGS, schema=schema):
        pass
