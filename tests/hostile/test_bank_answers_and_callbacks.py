"""Hostile bank answers (``POST /api/v1/bank/files``) and callback registrations
(``PUT /api/v1/callback``).

A bank answer is parsed only through ``payments.iso20022.safe_parse``: a DOCTYPE, an entity
(billion laughs, XXE), anything but UTF-8, a body that is not a pain.002 or camt.054, or one
over the size limit is a 400/413 that applies nothing and leaves no file behind. A callback URL
is an address the system will later send data to: every refused URL leaves the client's
callback as it was.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from accounts.models import ApiClient
from tests.hostile.conftest import Hostile, problem_fields

ANSWERS = "/api/v1/bank/files"
CALLBACK = "/api/v1/callback"
CORPUS = Path(__file__).parent / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def upload(hostile: Hostile, body: bytes, content_type: str = "application/xml") -> Any:
    return hostile.http.post(
        ANSWERS, body, content_type=content_type, headers=hostile.bearer("bank")
    )


def uploaded_files(settings: Any) -> list[Path]:
    return [path for path in Path(settings.NEMKONTO_BANK_DIR).rglob("*") if path.is_file()]


ANSWER_CASES = [
    ("pain.002 with an external entity", corpus("pain002_xxe.xml"), "application/xml", 400),
    ("camt.054 billion laughs", corpus("camt054_laughs.xml"), "application/xml", 400),
    ("a pain.001 DTD", corpus("external_dtd.xml"), "application/xml", 400),
    ("UTF-16", corpus("utf16.xml"), "application/xml", 400),
    ("a pain.001 instead of an answer", corpus("xinclude.xml"), "application/xml", 400),
    ("no root element", b"<<<", "application/xml", 400),
    ("a lone declaration", b'<?xml version="1.0"?>', "application/xml", 400),
    ("white space", b"   \n", "application/xml", 400),
    ("JSON", b'{"status": "ACSC"}', "application/json", 400),
    ("a NUL character reference", b"<Document>&#0;</Document>", "application/xml", 400),
    (
        "an unknown namespace",
        b'<Document xmlns="urn:evil"><CstmrPmtStsRpt/></Document>',
        "application/xml",
        400,
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [case[1:] for case in ANSWER_CASES],
    ids=[case[0] for case in ANSWER_CASES],
)
def test_a_hostile_bank_answer_is_refused_applies_nothing_and_leaves_no_file(
    hostile, stored, settings, body, content_type, status
):
    before = stored()

    response = upload(hostile, body, content_type)

    assert response.status_code == status, response.content[:300]
    assert problem_fields(response) == []
    assert "not a valid pain.002 or camt.054" in response.json()["detail"]
    assert not before.changes()
    assert uploaded_files(settings) == []


def test_a_bank_answer_over_the_limit_is_413(hostile, stored, settings):
    settings.NEMKONTO_BATCH_MAX_BYTES = 4096
    body = b'<?xml version="1.0"?><Document>' + b" " * 8192 + b"</Document>"
    before = stored()

    response = upload(hostile, body)

    assert response.status_code == 413
    assert not before.changes()
    assert uploaded_files(settings) == []


def test_only_banks_may_upload_answers(hostile, stored):
    before = stored()

    response = hostile.http.post(
        ANSWERS,
        corpus("pain002_xxe.xml"),
        content_type="application/xml",
        headers=hostile.bearer("payments"),
    )

    assert response.status_code == 403
    assert not before.changes()


# --- Callback registration ----------------------------------------------------------------------


def register(hostile: Hostile, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return hostile.http.put(
        CALLBACK, raw, content_type="application/json", headers=hostile.bearer("payments")
    )


CALLBACK_CASES = [
    ("NUL", {"url": "https://ydelse.example.dk/\x00"}, 400),
    ("a tab in the host", {"url": "https://ydelse.exa\tmple.dk/"}, 422),
    ("file", {"url": "file:///etc/passwd"}, 422),
    ("javascript", {"url": "javascript:alert(1)"}, 422),
    ("gopher", {"url": "gopher://ydelse.example.dk/"}, 422),
    ("credentials", {"url": "https://user:password@ydelse.example.dk/"}, 422),
    ("a port out of range", {"url": "https://ydelse.example.dk:99999/"}, 422),
    ("too long", {"url": "https://ydelse.example.dk/" + "a" * 600}, 422),
    ("plain http", {"url": "http://ydelse.example.dk/"}, 422),
    ("localhost", {"url": "https://localhost/hook"}, 422),
    ("loopback", {"url": "https://127.0.0.1/hook"}, 422),
    ("IPv6 loopback", {"url": "https://[::1]/hook"}, 422),
    ("a private network", {"url": "https://10.1.2.3/hook"}, 422),
    ("cloud metadata", {"url": "https://169.254.169.254/latest/meta-data/"}, 422),
    ("IPv4-mapped loopback", {"url": "https://[::ffff:127.0.0.1]/hook"}, 422),
    ("an object", {"url": {"href": "https://ydelse.example.dk/"}}, 400),
    ("an unknown field", {"url": "https://ydelse.example.dk/", "secret": "mine"}, 400),
]


@pytest.mark.parametrize(
    ("body", "status"),
    [case[1:] for case in CALLBACK_CASES],
    ids=[case[0] for case in CALLBACK_CASES],
)
def test_a_hostile_callback_url_is_refused_and_the_callback_is_unchanged(
    hostile, stored, settings, body, status
):
    settings.NEMKONTO_CALLBACK_ALLOW_HTTP = False  # the production rule
    client = hostile.world.api_client
    ApiClient.objects.filter(pk=client.pk).update(callback_url="https://ydelse.example.dk/ok")
    before = stored()

    response = register(hostile, body)

    assert response.status_code == status, response.content[:300]
    fields = problem_fields(response)
    assert fields[:1] in (["url"], ["secret"])
    assert not before.changes()
    client.refresh_from_db()
    assert client.callback_url == "https://ydelse.example.dk/ok"
