"""Log-in with OpenID Connect against a real provider (oidc-provider-mock in a thread).

The pages are in Danish (the default language); the tests read the compiled catalogues, as
portal/tests/test_pages.py does. The Django test client plays the browser towards the portal;
``requests`` plays it towards the provider's authorization page (choosing an identity there, as a
user would). The portal itself talks to the provider over HTTP: discovery, code exchange, JWKS and
ID-token verification.
"""

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oidc_provider_mock
import pytest
import requests
import werkzeug.serving
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditEvent, User
from accounts.tests.factories import AuthorityFactory, EmployeeFactory
from portal.session_limit import SESSION_STARTED
from registry.models import Recipient

pytestmark = pytest.mark.django_db

CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"
CVR_CLAIM = "https://data.gov.dk/model/core/eid/professional/cvr"


class Provider:
    def __init__(self, url: str) -> None:
        self.url = url

    def user(self, sub: str, claims: dict[str, Any]) -> str:
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()
        return sub

    def choose(self, authorize_url: str, sub: str) -> str:
        """Pick ``sub`` on the provider's page; the portal URL the provider sends the user to."""
        answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@pytest.fixture(scope="session")
def provider_server() -> Iterator[str]:
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _danish() -> Iterator[None]:
    """reverse() in Danish, whatever page an earlier test asked for in English."""
    with translation.override("da"):
        yield


@pytest.fixture
def provider(provider_server: str, settings: Any) -> Provider:
    settings.NEMKONTO_OIDC_ISSUER = provider_server
    settings.NEMKONTO_OIDC_CLAIM_CPR = CPR_CLAIM
    settings.NEMKONTO_OIDC_CLAIM_CVR = CVR_CLAIM
    settings.NEMKONTO_OIDC_CLAIM_EMPLOYEE = "sub"
    return Provider(provider_server)


def start(client: Client, method: str = "mitid", next_url: str = "") -> str:
    """Press a log-in button; the provider's authorization URL the portal redirects to."""
    url = reverse(f"portal:login-{method}") + (f"?next={next_url}" if next_url else "")
    answer = client.get(url)
    assert answer.status_code == 302
    return answer["Location"]


def callback(client: Client, location: str) -> Any:
    parts = urlsplit(location)
    assert parts.path == reverse("portal:login-callback")
    return client.get(parts.path, parse_qs(parts.query))


def log_in(client: Client, provider: Provider, sub: str, method: str = "mitid") -> Any:
    return callback(client, provider.choose(start(client, method), sub))


def logged_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def person(cpr: str = "0302851234", name: str = "Ida Test Holm") -> Recipient:
    return Recipient.objects.create(id_type="CPR", id_number=cpr, name=name)


def business(cvr: str = "52100003", name: str = "Test Byg ApS") -> Recipient:
    return Recipient.objects.create(id_type="CVR", id_number=cvr, cvr=cvr, name=name)


# --- The flow ---------------------------------------------------------------------------------


def test_the_buttons_send_the_user_to_the_provider_with_pkce_state_and_nonce(
    client: Client, provider: Provider
) -> None:
    location = start(client, "mitid")
    assert location.startswith(f"{provider.url}/oauth2/authorize?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code"
    assert query["scope"] == "openid profile"
    assert query["redirect_uri"] == "http://testserver/log-ind/svar/"
    assert query["code_challenge_method"] == "S256"
    assert query["nonce"]
    assert query["state"]
    # The verifier stays in our session; the provider sees only its S256 hash.
    kept = client.session[f"_state_broker_{query['state']}"]["data"]
    digest = hashlib.sha256(kept["code_verifier"].encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert kept["nonce"] == query["nonce"]


def test_a_citizen_in_the_register_gets_a_login_on_first_log_in(
    client: Client, provider: Provider
) -> None:
    person()
    provider.user("ida", {CPR_CLAIM: "030285-1234"})
    answer = log_in(client, provider, "ida")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("portal:citizen:overview")  # her own start page
    user = logged_in_user(client)
    assert user is not None
    assert (user.kind, user.recipient_type, user.recipient_id) == ("citizen", "CPR", "0302851234")
    assert user.get_full_name() == "Ida Test Holm"
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="login", actor=user)
    assert event.data == {"method": "mitid", "kind": "citizen", "created": True}
    assert "Ida Test Holm" in client.get("/").content.decode()

    # The next log-in (another browser) is the same user, not a new one.
    again = Client()
    log_in(again, provider, "ida")
    assert logged_in_user(again) == user
    assert User.objects.filter(kind="citizen").count() == 1


def test_a_cpr_number_not_in_the_register_is_refused_clearly(
    client: Client, provider: Provider
) -> None:
    provider.user("stranger", {CPR_CLAIM: "0101900000"})
    answer = log_in(client, provider, "stranger")
    assert answer.status_code == 403
    assert "Dit CPR-nummer findes ikke i det register" in answer.content.decode()
    assert logged_in_user(client) is None
    assert not User.objects.filter(recipient_id="0101900000").exists()
    assert not AuditEvent.objects.filter(action="login").exists()


def test_mitid_without_a_cpr_claim_is_refused(client: Client, provider: Provider) -> None:
    business()
    provider.user("firm", {CVR_CLAIM: "52100003"})
    answer = log_in(client, provider, "firm", "mitid")
    assert answer.status_code == 403
    assert "MitID oplyste ikke et CPR-nummer" in answer.content.decode()
    assert logged_in_user(client) is None


def test_a_business_logs_in_by_its_cvr_number(client: Client, provider: Provider) -> None:
    business()
    provider.user("employee-of-firm", {CVR_CLAIM: "52100003"})
    log_in(client, provider, "employee-of-firm", "mitid-erhverv")
    user = logged_in_user(client)
    assert user is not None
    assert (user.kind, user.recipient_type, user.recipient_id) == ("business", "CVR", "52100003")
    assert user.first_name == "Test Byg ApS"


def test_an_authority_employee_logs_in_as_the_existing_user(
    client: Client, provider: Provider
) -> None:
    authority = AuthorityFactory.create(cvr="29189846")
    employee = EmployeeFactory.create(username="sb-1", authority=authority, first_name="Sara")
    provider.user("sb-1", {CVR_CLAIM: "29189846"})
    answer = log_in(client, provider, "sb-1", "mitid-erhverv")
    assert answer["Location"] == reverse("portal:caseworker:home")
    assert logged_in_user(client) == employee
    event = AuditEvent.objects.get(action="login", actor=employee)
    assert event.authority == authority
    assert event.data["kind"] == "employee"


def test_employees_are_never_created_from_claims(client: Client, provider: Provider) -> None:
    AuthorityFactory.create(cvr="29189846")
    EmployeeFactory.create(username="sb-1")  # the same username at another authority
    provider.user("sb-1", {CVR_CLAIM: "29189846"})
    users = User.objects.count()
    answer = log_in(client, provider, "sb-1", "mitid-erhverv")
    assert answer.status_code == 403
    assert "du er ikke oprettet som sagsbehandler" in answer.content.decode()
    assert User.objects.count() == users
    assert logged_in_user(client) is None


def test_a_deactivated_employee_is_refused(client: Client, provider: Provider) -> None:
    authority = AuthorityFactory.create(cvr="29189846", name="Nemby Kommune")
    EmployeeFactory.create(username="gone", authority=authority, is_active=False)
    provider.user("gone", {CVR_CLAIM: "29189846"})
    answer = log_in(client, provider, "gone", "mitid-erhverv")
    assert answer.status_code == 403
    assert "Din bruger hos Nemby Kommune er deaktiveret" in answer.content.decode()
    assert logged_in_user(client) is None


def test_a_safe_next_url_is_followed_and_a_foreign_one_is_not(
    client: Client, provider: Provider
) -> None:
    person()
    provider.user("ida", {CPR_CLAIM: "0302851234"})
    answer = callback(client, provider.choose(start(client, next_url="/aktiver/"), "ida"))
    assert answer["Location"] == "/aktiver/"
    other = Client()
    answer = callback(other, provider.choose(start(other, next_url="https://evil.example/"), "ida"))
    assert answer["Location"] == reverse("portal:citizen:overview")


# --- State and nonce ------------------------------------------------------------------------


def test_an_answer_to_a_log_in_started_elsewhere_is_refused(
    client: Client, provider: Provider
) -> None:
    """Login CSRF: an attacker's authorization answer delivered to the victim's browser."""
    person()
    provider.user("ida", {CPR_CLAIM: "0302851234"})
    attacker = Client()
    location = provider.choose(start(attacker), "ida")
    start(client)  # the victim has a log-in of her own under way
    answer = callback(client, location)
    assert answer.status_code == 400
    assert "Log-in kunne ikke bekræftes" in answer.content.decode()
    assert logged_in_user(client) is None
    assert not AuditEvent.objects.filter(action="login").exists()


def test_a_code_issued_for_another_nonce_is_refused(client: Client, provider: Provider) -> None:
    """Code injection: the code of one attempt sent back with the state of another attempt of
    the same session. The state is known, but the ID token carries the first attempt's nonce."""
    person()
    provider.user("ida", {CPR_CLAIM: "0302851234"})
    first = start(client)
    second = start(client)
    code = parse_qs(urlsplit(provider.choose(first, "ida")).query)["code"][0]
    second_state = parse_qs(urlsplit(second).query)["state"][0]
    answer = client.get(reverse("portal:login-callback"), {"code": code, "state": second_state})
    assert answer.status_code == 400
    assert logged_in_user(client) is None


def test_the_state_is_used_only_once(client: Client, provider: Provider) -> None:
    person()
    provider.user("ida", {CPR_CLAIM: "0302851234"})
    location = provider.choose(start(client), "ida")
    assert callback(client, location).status_code == 302
    client.post(reverse("portal:logout"))
    assert callback(client, location).status_code == 400
    assert logged_in_user(client) is None


def test_denying_at_the_provider_cancels_the_log_in(client: Client, provider: Provider) -> None:
    location = start(client)
    answer = requests.post(location, data={"action": "deny"}, allow_redirects=False, timeout=5)
    answer = callback(client, answer.headers["Location"])
    assert answer["Location"] == reverse("portal:login")
    assert logged_in_user(client) is None


def test_the_log_in_page_says_so_when_the_provider_does_not_answer(
    client: Client, settings: Any
) -> None:
    settings.NEMKONTO_OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens on the discard port
    answer = client.get(reverse("portal:login-mitid"))
    assert answer.status_code == 503
    assert "Log-in-tjenesten svarer ikke" in answer.content.decode()


# --- Sessions and log-out -----------------------------------------------------------------------


def _logged_in_citizen(client: Client, provider: Provider) -> User:
    person()
    provider.user("ida", {CPR_CLAIM: "0302851234"})
    log_in(client, provider, "ida")
    user = logged_in_user(client)
    assert user is not None
    return user


def test_an_idle_session_expires(client: Client, provider: Provider, settings: Any) -> None:
    _logged_in_citizen(client, provider)
    session = Session.objects.get(session_key=client.session.session_key)
    # Every request renews the idle limit ...
    remaining = (session.expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < remaining <= settings.SESSION_COOKIE_AGE
    # ... and after it the user is logged out.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now())
    assert client.get("/").wsgi_request.user.is_anonymous
    assert logged_in_user(client) is None


def test_a_busy_session_ends_at_the_absolute_limit(
    client: Client, provider: Provider, settings: Any
) -> None:
    _logged_in_citizen(client, provider)
    session = client.session
    session[SESSION_STARTED] = time.time() - settings.NEMKONTO_SESSION_MAX_SECONDS + 60
    session.save()
    assert client.get("/").wsgi_request.user.is_authenticated  # a minute left
    session = client.session
    session[SESSION_STARTED] = time.time() - settings.NEMKONTO_SESSION_MAX_SECONDS - 1
    session.save()
    answer = client.get("/")
    assert answer.wsgi_request.user.is_anonymous
    assert logged_in_user(client) is None
    assert "er din session udløbet. Log ind igen." in answer.content.decode()


def test_logout_clears_our_session_then_ends_the_providers(
    client: Client, provider: Provider
) -> None:
    user = _logged_in_citizen(client, provider)
    id_token = client.session["nk_oidc_id_token"]
    answer = client.post(reverse("portal:logout"))
    assert logged_in_user(client) is None
    assert "nk_oidc_id_token" not in client.session
    assert AuditEvent.objects.filter(action="logout", actor=user).count() == 1
    location = urlsplit(answer["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{provider.url}/oauth2/end_session"
    )
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query["id_token_hint"] == id_token
    assert query["post_logout_redirect_uri"] == "http://testserver/"
    # The provider's end-session page confirms and sends the user back to us.
    confirm = requests.post(
        f"{provider.url}/oauth2/end_session/confirm",
        data={"redirect_uri": query["post_logout_redirect_uri"]},
        allow_redirects=False,
        timeout=5,
    )
    assert confirm.headers["Location"] == "http://testserver/"
    assert "Du er logget af." in client.get("/").content.decode()


def test_logout_is_a_post(client: Client, provider: Provider) -> None:
    _logged_in_citizen(client, provider)
    assert client.get(reverse("portal:logout")).status_code == 405
    assert logged_in_user(client) is not None


def test_an_admin_session_logs_out_here_only(client: Client, provider: Provider) -> None:
    operator = User.objects.create_superuser("ops", password="x-long-password-1")
    client.force_login(operator)
    answer = client.post(reverse("portal:logout"))
    assert answer["Location"] == reverse("portal:home")
    assert logged_in_user(client) is None
