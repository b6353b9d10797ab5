"""Log-in and log-out through the real pages of the portal and the local OpenID provider."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import AuditEvent, User
from registry.models import Recipient


def test_login_page_offers_mitid_and_mitid_erhverv(page, assert_accessible, screenshot) -> None:
    page.goto("/en/log-ind/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to NemKonto")
    expect(page.get_by_role("link", name="Log in with MitID", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Log in with MitID Erhverv")).to_be_visible()
    page.goto("/log-ind/")
    assert_accessible(page)
    screenshot(page, "login")


def test_front_and_about_pages_are_accessible(page, assert_accessible) -> None:
    for path in ("/", "/om-nemkonto/", "/en/", "/en/om-nemkonto/"):
        page.goto(path)
        assert_accessible(page)


@pytest.mark.parametrize(
    ("identity", "name"),
    [
        ("demo-karen", "Karen Demo Nielsen"),
        ("demo-byg", "Demo Byg ApS"),
        ("nemby-sagsbehandler", "Søren Sagsbehandler"),
    ],
)
def test_demo_identities_log_in_and_see_their_name(page, demo_data, login, identity, name) -> None:
    login(page, identity)
    expect(page.locator(".nk-user")).to_have_text(name)
    expect(page.get_by_role("navigation", name=re.compile("Main menu|Hovedmenu"))).to_be_attached()


def test_a_first_time_citizen_logs_in_then_out_at_both_ends(page, login, oidc_provider) -> None:
    Recipient.objects.create(id_type="CPR", id_number="0302851234", name="Ida Test Holm")
    login(page, {"sub": "ida", settings.NEMKONTO_OIDC_CLAIM_CPR: "0302851234"})
    expect(page.locator(".nk-user")).to_have_text("Ida Test Holm")
    user = User.objects.get(recipient_type="CPR", recipient_id="0302851234")
    assert user.kind == User.Kind.CITIZEN
    assert AuditEvent.objects.filter(action="login", actor=user).count() == 1

    page.locator(".nk-logout button").click()
    # The provider's end-session page, told who is logging out and where to come back to.
    page.wait_for_url(f"{oidc_provider.url}/oauth2/end_session?**")
    assert "id_token_hint=" in page.url
    assert "post_logout_redirect_uri=" in page.url
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/(\?.*)?$"))
    expect(page.locator(".nk-user")).to_have_count(0)
    expect(page.locator(".alert-success")).to_be_visible()
    assert AuditEvent.objects.filter(action="logout", actor=user).count() == 1
    # Our session is gone: a page for logged-in users sends to the log-in page.
    page.goto("/aktiver/")
    assert "/log-ind/" in page.url
