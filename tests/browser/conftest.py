"""Browser tests: Chromium drives the real portal through the real log-in.

Every test in ``tests/browser/`` is marked ``browser`` and runs in ``make test`` and in CI
(``.ci/run`` installs Debian's ``chromium`` package when it is missing; Playwright never downloads
a browser). Run only them with::

    make test PYTEST_ARGS="-m browser"
    .venv/bin/pytest -m browser -p no:cacheprovider            # with DATABASE_URL set
    .venv/bin/pytest tests/browser --headed --slowmo 300       # watch it (needs a display)

Without ``/usr/bin/chromium`` the tests are skipped (CI, with ``NEMKONTO_REQUIRE_SERVERS=1``,
fails instead).

What runs
---------
Once per test session, as real processes sharing the test database (like ``make run``):

- the web server: gunicorn serving ``nemkonto.wsgi`` (static files by WhiteNoise), and
- the local OpenID provider: ``manage.py oidc_provider`` (oidc-provider-mock with the demo
  identities), which the web server uses as its MitID / MitID Erhverv broker.

Each test runs with pytest-django's ``transactional_db`` (with serialized rollback): what the test
writes through the ORM is committed, so the web server sees it; after the test the tables are
emptied and the rows the migrations made (standard role profiles, ...) are restored. No Celery
worker runs: tasks queued by the web server (e.g. sending notices) stay in a private filesystem
broker, so assert on what the page shows and on the database (e.g. the notice outbox), not on
e-mails.

Fixtures
--------
``page``
    pytest-playwright's page (a fresh browser context per test); ``page.goto("/om-nemkonto/")``
    works because ``base_url`` is the portal's address.
``portal``
    The running portal (``portal.base_url``, ``portal.url(path)``, ``portal.logs()``). Requesting
    ``page`` is enough to get it; ask for it to read logs or build absolute URLs.
``oidc_provider``
    The local provider (``oidc_provider.url``; ``oidc_provider.add_user(sub, claims)`` registers an
    identity with any claims).
``demo_data``
    Loads the demo world of ``make run`` (``nemkonto.demo.demo_data_load``) and returns its
    description (the JSON of ``manage.py demo_data --json``). Needed to log in as a demo identity.
``login``
    ``login(page, identity, next=None)`` logs in through the portal's log-in page and the provider's
    page, as a real user would, and fails with the page's message if the portal refused. The
    identity is one of:

    - the name of a demo identity at the provider (``"demo-karen"``, ``"demo-byg"``,
      ``"nemby-sagsbehandler"``, ...; ``portal.demo_identities`` lists them; needs ``demo_data``),
    - a ``User`` made in the test (citizen, business or authority employee): its claims are
      registered at the provider first (CPR for a citizen, CVR for a business, the authority's CVR
      and the username for an employee), or
    - a dict of claims with a ``"sub"`` (MitID when it carries a CPR claim, else MitID Erhverv).

    Example::

        def test_citizen_sees_her_nemkonto(page, demo_data, login):
            login(page, "demo-karen")
            page.get_by_role("link", name="Min NemKonto").click()

``assert_accessible``
    ``assert_accessible(page)`` runs axe-core (``node_modules/axe-core``) on the page as it is now
    and fails listing every serious or critical violation (rule, impact, elements).
``screenshot``
    ``screenshot(page, name)`` saves the whole page to ``docs/screenshots/<name>.png`` (the README
    shows some of them) and returns the path.
"""

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import BASE_DIR, database_url, free_port, wait_for_http

# Playwright's sync API runs an event loop in the test's thread; the ORM calls of the test itself
# (fixtures, assertions on the database) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("NEMKONTO_CHROMIUM", "/usr/bin/chromium"))
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = BASE_DIR / "docs" / "screenshots"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("NEMKONTO_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class OidcProvider:
    url: str
    process: Process

    def add_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Register (or replace) an identity at the provider with these claims."""
        answer = requests.put(
            f"{self.url}/users/{urllib.parse.quote(sub, safe='')}", json=claims, timeout=10
        )
        answer.raise_for_status()


@dataclass
class Portal:
    base_url: str
    web: Process
    provider: OidcProvider
    logs_dir: Path
    processes: list[Process] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(self.logs_dir.glob("*.log"))
        )


@pytest.fixture(scope="session")
def _portal_processes(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    _require_chromium()
    logs = tmp_path_factory.mktemp("browser-portal")
    provider_port, web_port = free_port(), free_port()
    provider_url = f"http://127.0.0.1:{provider_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DATABASE_POOL": "false",
        "NEMKONTO_OIDC_ISSUER": provider_url,
        # Tasks queued by the web server stay in a private broker (no worker in browser tests).
        "CELERY_BROKER_URL": "",
        "CELERY_BROKER_FOLDER": str(logs / "broker"),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"], cwd=BASE_DIR, env=env, check=True
    )
    provider = Process(
        "provider",
        [sys.executable, "manage.py", "oidc_provider", "--port", str(provider_port)],
        env,
        logs / "provider.log",
    )
    web = Process(
        "web",
        [
            *(sys.executable, "-m", "gunicorn", "nemkonto.wsgi"),
            *("--bind", f"127.0.0.1:{web_port}", "--workers", "1", "--threads", "4"),
            *("--access-logfile", "-"),
        ],
        env,
        logs / "web.log",
    )
    portal = Portal(
        f"http://127.0.0.1:{web_port}",
        web,
        OidcProvider(provider_url, provider),
        logs,
        [provider, web],
    )
    try:
        for process in portal.processes:
            process.start()
        assert provider.process is not None
        assert web.process is not None
        wait_for_http(f"{provider_url}/.well-known/openid-configuration", provider.process)
        wait_for_http(f"{portal.base_url}/", web.process)  # /healthz would wait for a worker
        yield portal
    except RuntimeError as exc:
        pytest.fail(f"the portal did not start: {exc}\n{portal.logs()}")
    finally:
        for process in reversed(portal.processes):
            process.stop()


@pytest.fixture(scope="session")
def base_url(_portal_processes: Portal) -> str:
    """pytest-playwright's base URL: ``page.goto("/")`` opens the portal's front page."""
    return _portal_processes.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, never a browser downloaded by Playwright."""
    _require_chromium()
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "locale": "da-DK"}


@pytest.fixture(scope="session", autouse=True)
def _migrated_rows(django_db_setup: None) -> None:
    """Keep the rows the migrations made (standard role profiles, ...) restorable.

    pytest-django serialized them when it set up the test database (``_committed_data`` asks for
    serialized rollback) and keeps them on the connection object of that moment. The tests get
    other connection objects (Django's connections are context-local, and the tests run in another
    context than the session's set-up), so Django would neither find the rows to restore nor keep
    post_migrate from recreating content types with new ids: the rows go on the class."""
    from django.db import connections

    wrapper = connections["default"]
    rows = getattr(wrapper, "_test_serialized_contents", None)
    if rows:
        type(wrapper)._test_serialized_contents = rows  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _committed_data(transactional_db: None, django_db_serialized_rollback: None) -> None:
    """Every browser test commits what it writes, so that the web server sees it; afterwards the
    tables are emptied, and before the next test the migrations' rows are put back."""


@pytest.fixture
def portal(_portal_processes: Portal) -> Portal:
    """The running portal."""
    return _portal_processes


@pytest.fixture
def oidc_provider(portal: Portal) -> OidcProvider:
    return portal.provider


@pytest.fixture
def demo_data(portal: Portal) -> dict[str, Any]:
    from nemkonto.demo import demo_data_load

    return demo_data_load()


def _claims_for_user(user: Any) -> dict[str, Any]:
    """The claims a broker would send for a user made in a test."""
    from django.conf import settings

    from accounts.models import User

    name = user.get_full_name() or user.get_username()
    if user.kind == User.Kind.CITIZEN:
        return {
            "sub": user.username,
            settings.NEMKONTO_OIDC_CLAIM_CPR: user.recipient_id,
            "name": name,
        }
    if user.kind == User.Kind.BUSINESS:
        return {
            "sub": user.username,
            settings.NEMKONTO_OIDC_CLAIM_CVR: user.recipient_id,
            "name": name,
        }
    if user.kind == User.Kind.EMPLOYEE:
        claims = {
            "sub": user.username,
            settings.NEMKONTO_OIDC_CLAIM_CVR: user.authority.cvr,
            "name": name,
        }
        claims[settings.NEMKONTO_OIDC_CLAIM_EMPLOYEE] = user.username
        return claims
    raise ValueError(f"{user.kind} users do not log in through the portal (operators use /admin/)")


@pytest.fixture
def login(portal: Portal) -> Callable[..., None]:
    from django.conf import settings

    from accounts.models import User
    from portal.demo_identities import demo_identities

    demo = {identity.sub: identity for identity in demo_identities()}

    def log_in(page: Any, identity: "str | User | dict[str, Any]", next: str | None = None) -> None:
        if isinstance(identity, str):
            if identity not in demo:
                raise ValueError(f"{identity!r} is not a demo identity ({', '.join(demo)})")
            sub, citizen = identity, demo[identity].method == "MitID"
        else:
            claims = _claims_for_user(identity) if isinstance(identity, User) else dict(identity)
            sub = str(claims.pop("sub"))
            portal.provider.add_user(sub, claims)
            citizen = settings.NEMKONTO_OIDC_CLAIM_CPR in claims
        query = f"?{urllib.parse.urlencode({'next': next})}" if next else ""
        page.goto(f"/log-ind/{query}")
        button = "/log-ind/mitid/" if citizen else "/log-ind/mitid-erhverv/"
        page.locator(f'main a[href^="{button}"]').click()
        page.wait_for_url(f"{portal.provider.url}/**")
        listed = page.locator(f'button[name="sub"][value="{sub}"]')
        if listed.count():
            listed.first.click()  # a demo identity (or one used before): its button
        else:  # an identity registered by the test: typed in as the subject
            page.locator("#subject-input").fill(sub)
            page.locator("#subject-input").press("Enter")
        page.wait_for_url(f"{portal.base_url}/**")
        if page.locator(".nk-user").count() == 0:
            alert = page.locator(".alert")
            message = alert.first.inner_text() if alert.count() else page.content()[:2000]
            pytest.fail(f"log-in as {sub!r} failed at {page.url}: {message}")

    return log_in


@pytest.fixture
def assert_accessible() -> Callable[[Any], None]:
    script = AXE.read_text(encoding="utf-8")

    def check(page: Any) -> None:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: the page's CSP (script-src 'self' with
            # nonces) rightly refuses an injected <script>, but does not apply to this.
            page.evaluate(f"{script}\n;true")
        results = page.evaluate("async () => await window.axe.run(document)")
        serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            lines = [
                f"- {v['id']} ({v['impact']}): {v['help']}\n    "
                + "\n    ".join(" ".join(node["target"]) for node in v["nodes"][:10])
                for v in serious
            ]
            pytest.fail(f"accessibility violations on {page.url}:\n" + "\n".join(lines))

    return check


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
