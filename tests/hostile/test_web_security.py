"""Web security settings: Django's Content Security Policy on every page (and pages that work
under it: no inline script or style in the templates, the admin's one inline style allowed by
its hash), CSRF on every form and session API call, the production cookie and transport
settings, and no secrets in the repository."""

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.hostile.conftest import Hostile
from tests.test_deployment import GOOD_ENV, _manage

BASE_DIR = Path(__file__).resolve().parents[2]
# Rendered to PDF by WeasyPrint, never served to a browser.
# Rendered into PDF by WeasyPrint (their style is the document's), never served as a page.
NOT_FOR_BROWSERS = ("registry/templates/registry/activation_letter.html", "templates/documents/")


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in (part.strip() for part in header.split(";"))
    }


@pytest.mark.parametrize("path", ["/", "/log-ind/", "/om-nemkonto/", "/admin/login/"])
def test_pages_carry_the_content_security_policy(db, client, path):
    response = client.get(path)

    assert response.status_code == 200
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == csp["base-uri"] == csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"][0] == "'self'"


def _templates() -> list[Path]:
    folders = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
    return [
        path
        for folder in folders
        for path in folder.rglob("*.html")
        if not path.relative_to(BASE_DIR).as_posix().startswith(NOT_FOR_BROWSERS)
    ]


INLINE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*nonce=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b(?![^>]*nonce=)", re.I), "inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.I), "javascript: URL"),
]


def test_templates_have_no_inline_script_or_style():
    """The policy allows no inline script or style: a template that needs one gives the tag
    ``nonce="{{ csp_nonce }}"``; behaviour goes in static files."""
    found = [
        f"{path.relative_to(BASE_DIR)}: {what}"
        for path in _templates()
        for pattern, what in INLINE
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_every_post_form_has_a_csrf_token():
    found = []
    for path in _templates():
        text = path.read_text()
        for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S | re.I):
            if re.search(r'method=["\']?post', form.group(0), re.I) and (
                "{% csrf_token %}" not in form.group(1)
            ):
                found.append(str(path.relative_to(BASE_DIR)))
    assert found == []


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.django_db
def test_the_admin_works_under_the_policy(client: Client) -> None:
    """Every change list and add page of the admin: its inline <style> blocks are allowed by
    hash (there are none today: Django adds one only to a change list with its action bars
    turned off), and it has no inline script (JSON data blocks are not scripts)."""
    operator = User.objects.create_superuser("superdrift", password="test-password-123")
    client.force_login(operator)
    allowed_styles = set(settings.SECURE_CSP["style-src"])
    problems = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        pages = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
        if model_admin.has_add_permission(type("R", (), {"user": operator})()):
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            html = response.content.decode()
            for style in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S):
                if _sha256(style) not in allowed_styles:
                    problems.append(f"{page}: inline style {style.strip()[:60]!r}")
            for tag in re.findall(r"<script\b[^>]*>", html):
                if "src=" not in tag and "application/json" not in tag:
                    problems.append(f"{page}: inline script {tag}")
            if re.search(r"\son[a-z]+=\"", html):
                problems.append(f"{page}: event handler attribute")
    assert problems == []


# --- CSRF ---------------------------------------------------------------------------------------


def test_a_portal_form_without_the_csrf_token_is_refused(hostile: Hostile, stored) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(hostile.users["citizen"])
    before = stored()

    response = browser.post(
        "/min-nemkonto/skift/",
        {"step": "confirm", "kind": "danish", "reg": "3000", "number": "7654321"},
    )

    assert response.status_code == 403
    assert not before.changes()


def test_a_session_api_call_without_the_csrf_header_is_refused(hostile: Hostile, stored) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(hostile.users["citizen"])
    body = json.dumps({"account": {"reg": "3000", "number": "7654321"}})
    before = stored()

    refused = browser.put("/api/v1/me/nemkonto", body, content_type="application/json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not before.changes()
    browser.get("/min-nemkonto/")
    token = browser.cookies["csrftoken"].value
    allowed = browser.put(
        "/api/v1/me/nemkonto",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert allowed.status_code == 200, allowed.content[:300]


# --- Production settings ------------------------------------------------------------------------

_SETTINGS_DUMP = """
import json
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in %r}, default=str))
"""
PRODUCTION_SETTINGS = {
    "DEBUG": False,
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "CSRF_COOKIE_SECURE": True,
    "CSRF_COOKIE_SAMESITE": "Lax",
    "LANGUAGE_COOKIE_SECURE": True,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "SECURE_REFERRER_POLICY": "same-origin",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
    "X_FRAME_OPTIONS": "DENY",
}


def test_production_settings_harden_cookies_transport_and_framing():
    names = [*PRODUCTION_SETTINGS, "MIDDLEWARE", "SECURE_CSP"]
    result = _manage(GOOD_ENV, "shell", "-c", _SETTINGS_DUMP % names)
    assert result.returncode == 0, result.stderr

    values = json.loads(result.stdout.strip().splitlines()[-1])

    assert {name: values[name] for name in PRODUCTION_SETTINGS} == PRODUCTION_SETTINGS
    assert "django.middleware.csp.ContentSecurityPolicyMiddleware" in values["MIDDLEWARE"]
    assert "django.middleware.csrf.CsrfViewMiddleware" in values["MIDDLEWARE"]
    assert values["SECURE_CSP"]["default-src"] == ["'self'"]


def test_check_deploy_reports_nothing_even_at_the_strictest_level():
    """(tests/test_deployment.py runs it at WARNING; here every level, INFO included.)"""
    result = _manage(GOOD_ENV, "check", "--deploy", "--fail-level", "DEBUG")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- Secrets ------------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Stripe key": re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}"),
    "Django secret key": re.compile(r"SECRET_KEY\s*=\s*[\"'](?!django-insecure)[^\"']{20,}[\"']"),
}


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        BASE_DIR / name
        for name in listed
        if (BASE_DIR / name).is_file() and not name.endswith((".lock", ".png", ".pdf", ".woff"))
    ]


def test_no_secrets_in_the_repository():
    found = []
    for path in _repository_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [
            f"{path.relative_to(BASE_DIR)}: {what}"
            for what, pattern in SECRET_PATTERNS.items()
            if pattern.search(text) and path != Path(__file__)
        ]
    assert found == []


def test_production_reads_its_secrets_from_the_environment_only():
    """Production refuses to start without the secrets, so no default can be used by mistake."""
    missing = {**GOOD_ENV, "DJANGO_SECRET_KEY": "", "NEMKONTO_LOOKUP_HASH_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **missing},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    production = (BASE_DIR / "nemkonto/settings/production.py").read_text()
    for name in ("DJANGO_SECRET_KEY", "NEMKONTO_LOOKUP_HASH_KEY"):
        assert f'env("{name}", default="")' in production
