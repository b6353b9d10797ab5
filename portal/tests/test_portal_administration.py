"""The administration pages (issue 7): benefits for NKS-Ydelser, users and role-profile grants,
the readiness checklist and the control lists for the local administrator (NKS-Lokal-Admin).
Every page answers 404 to those without its function; a refused or bad form changes nothing.

Texts are asserted on the English pages (/en/...): the msgids, whatever the Danish catalogue holds.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditEvent, Grant, RoleProfile, User
from accounts.services import grant_create
from accounts.tests.factories import EmployeeFactory, grant
from payments.models import Benefit, ReadinessConfirmation
from registry.models import Recipient, SpecificAccount

pytestmark = pytest.mark.django_db


def url(name, *args):
    """The English page's address (``/en/...``)."""
    with translation.override("en"):
        return reverse(f"portal:administration:{name}", args=args)


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def field_error(page, field):
    match = re.search(
        rf'<span class="form-error-message" id="id_{field}_error">(.*?)</span>\s', page
    )
    return match.group(1) if match else ""


@pytest.fixture
def clerk(authority, units):
    """NKS-Ydelser on the root unit: maintains the authority's benefits."""
    user = EmployeeFactory.create(username="ydelser", authority=authority)
    grant(user, "nks-ydelser", units.root)
    return user


@pytest.fixture
def benefit(authority):
    return Benefit.objects.create(authority=authority, code="BOERNECHECK", name="Børnecheck")


@pytest.fixture
def as_admin(client, local_admin):
    client.force_login(local_admin)
    return client


# --- Who may open what -----------------------------------------------------------------------

ADMIN_PAGES = (
    "users",
    "user-new",
    "readiness",
    "control-lists",
    "account-changes",
    "role-profiles",
    "unused-grants",
    "changes",
)


@pytest.mark.parametrize("who", ["citizen", "caseworker", "clerk"])
def test_local_administration_pages_are_404_without_the_profile(client, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for name in ADMIN_PAGES:
        assert client.get(url(name)).status_code == 404, name
    assert client.get(url("user", user.pk)).status_code == 404


@pytest.mark.parametrize("who", ["citizen", "caseworker", "local_admin"])
def test_benefit_pages_are_404_without_the_benefits_profile(client, who, benefit, request):
    client.force_login(request.getfixturevalue(who))
    for address in (url("benefits"), url("benefit-new"), url("benefit", benefit.code)):
        assert client.get(address).status_code == 404
    response = client.post(url("benefit-new"), {"code": "NY", "name": "Ny ydelse"})
    assert response.status_code == 404
    assert not Benefit.objects.filter(code="NY").exists()


def test_anonymous_visitors_are_sent_to_the_log_in(client):
    for name in ("index", "benefits", "users", "readiness", "control-lists"):
        response = client.get(url(name))
        assert response.status_code == 302
        assert "next=" in response["Location"]


def test_the_front_page_shows_only_the_sections_the_user_may_use(client, clerk, local_admin):
    client.force_login(clerk)
    page = html(client.get(url("index")))
    assert url("benefits") in page
    assert url("users") not in page
    assert url("readiness") not in page
    client.force_login(local_admin)
    page = html(client.get(url("index")))
    assert url("benefits") not in page
    for name in ("users", "readiness", "control-lists"):
        assert url(name) in page
    client.force_login(EmployeeFactory.create(authority=local_admin.authority))
    assert client.get(url("index")).status_code == 404


def test_the_menu_shows_administration_only_to_administrators_and_benefit_clerks(
    client, clerk, local_admin, caseworker
):
    menu_link = '<a href="/en/administration/" class="nav-link"'
    for user, shown in ((clerk, True), (local_admin, True), (caseworker, False)):
        client.force_login(user)
        assert (menu_link in html(client.get("/en/"))) is shown, user


# --- Benefits --------------------------------------------------------------------------------


def test_the_clerk_creates_a_benefit(client, clerk, benefit, authority):
    client.force_login(clerk)
    page = html(client.get(url("benefits")))
    assert "BOERNECHECK" in page
    assert url("benefit-new") in page
    response = client.post(
        url("benefit-new"), {"code": "KONTANT", "name": "Kontanthjælp", "is_active": "on"}
    )
    assert response.status_code == 302
    created = Benefit.objects.get(authority=authority, code="KONTANT")
    assert created.name == "Kontanthjælp"
    assert created.is_active
    assert AuditEvent.objects.filter(action="benefit.create", actor=clerk).count() == 1
    assert "The benefit KONTANT is created." in html(client.get(response["Location"]))


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"code": "BOERNECHECK", "name": "Igen"}, "code", "already has a benefit"),
        ({"code": "ÆØÅ", "name": "Forkert"}, "code", "Use letters, digits"),
        ({"code": "", "name": "Uden kode"}, "code", "This field is required."),
        ({"code": "NY", "name": ""}, "name", "This field is required."),
    ],
)
def test_a_bad_benefit_is_refused_on_its_field_and_nothing_is_created(
    client, clerk, benefit, form, field, message
):
    client.force_login(clerk)
    page = html(client.post(url("benefit-new"), form))
    assert message in field_error(page, field)
    assert Benefit.objects.count() == 1
    assert not AuditEvent.objects.filter(action="benefit.create").exists()


def test_the_clerk_renames_and_deactivates_a_benefit_but_not_its_code(client, clerk, benefit):
    client.force_login(client_user := clerk)
    page = html(client.get(url("benefit", benefit.code)))
    assert 'name="code"' not in page
    response = client.post(url("benefit", benefit.code), {"name": "Børne- og ungeydelse"})
    assert response.status_code == 302
    benefit.refresh_from_db()
    assert (benefit.code, benefit.name, benefit.is_active) == (
        "BOERNECHECK",
        "Børne- og ungeydelse",
        False,
    )
    assert AuditEvent.objects.get(action="benefit.update").actor == client_user


def test_a_benefits_profile_on_a_branch_sees_the_benefits_but_cannot_change_them(
    client, authority, units, benefit
):
    branch = EmployeeFactory.create(authority=authority)
    grant(branch, "nks-ydelser", units.child)
    client.force_login(branch)
    page = html(client.get(url("benefits")))
    assert "BOERNECHECK" in page
    assert url("benefit-new") not in page
    assert url("benefit", benefit.code) not in page
    assert "your profile NKS-Ydelser covers only part of it" in page
    assert client.get(url("benefit-new")).status_code == 404
    assert client.post(url("benefit", benefit.code), {"name": "X"}).status_code == 404
    benefit.refresh_from_db()
    assert benefit.name == "Børnecheck"


def test_an_unknown_benefit_is_404(client, clerk):
    client.force_login(clerk)
    assert client.get(url("benefit", "FINDES-IKKE")).status_code == 404


# --- Users and grants ------------------------------------------------------------------------


def test_the_local_administrator_lists_and_searches_the_authoritys_users(
    as_admin, caseworker, outsider
):
    page = html(as_admin.get(url("users")))
    assert "<td>sagsbehandler</td>" in page
    assert "<td>lokaladmin</td>" in page
    assert "udefra" not in page
    page = html(as_admin.get(url("users"), {"q": "lokal"}))
    assert "<td>lokaladmin</td>" in page
    assert "<td>sagsbehandler</td>" not in page


def test_the_local_administrator_creates_a_user_with_a_first_profile(
    as_admin, local_admin, units, authority
):
    profile = RoleProfile.objects.get(code="nks-soeg-bet")
    response = as_admin.post(
        url("user-new"),
        {
            "username": "ny-medarbejder",
            "first_name": "Nina",
            "last_name": "Ny",
            "email": "nina@example.org",
            "role_profile": profile.pk,
            "unit": units.child.pk,
        },
    )
    user = User.objects.get(username="ny-medarbejder")
    assert response["Location"] == url("user", user.pk)
    assert (user.kind, user.authority, user.has_usable_password()) == (
        User.Kind.EMPLOYEE,
        authority,
        False,
    )
    assert Grant.objects.get(user=user).unit == units.child
    page = html(as_admin.get(response["Location"]))
    assert "The user ny-medarbejder is created." in page
    assert "NKS-Søg-Bet" in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"username": "sagsbehandler"}, "username", "This username is taken."),
        ({"username": ""}, "username", "This field is required."),
        ({"email": "ikke-en-adresse"}, "email", "Enter a valid email address."),
        ({"role_profile": "profile"}, "unit", "Choose the LOS unit for the role profile."),
        ({"unit": "child"}, "role_profile", "Choose the role profile for the LOS unit."),
        ({"role_profile": "profile", "unit": "foreign"}, "unit", "Select a valid choice."),
    ],
)
def test_a_bad_new_user_is_refused_on_its_field_and_nothing_is_created(
    as_admin, caseworker, units, other_unit, form, field, message
):
    values = {
        "profile": RoleProfile.objects.get(code="nks-soeg-bet").pk,
        "child": units.child.pk,
        "foreign": other_unit.pk,
    }
    data = {"username": "ny", "first_name": "Nina", "last_name": "Ny"}
    data |= {key: values.get(value, value) for key, value in form.items()}
    users = User.objects.count()
    page = html(as_admin.post(url("user-new"), data))
    assert message in field_error(page, field)
    assert User.objects.count() == users
    assert not Grant.objects.filter(user__username="ny").exists()


def test_the_local_administrator_grants_and_revokes_a_profile(
    as_admin, local_admin, caseworker, units
):
    profile = RoleProfile.objects.get(code="nks-stop-bet")
    response = as_admin.post(
        url("grant-new", caseworker.pk), {"role_profile": profile.pk, "unit": units.grandchild.pk}
    )
    assert response.status_code == 302
    granted = Grant.objects.get(user=caseworker, role_profile=profile)
    assert granted.granted_by == local_admin
    page = html(as_admin.get(url("user", caseworker.pk)))
    assert "sagsbehandler now has NKS-Stop-Bet on YDELSE Ydelseskontoret." in page
    assert url("grant-remove", granted.pk) in page

    response = as_admin.post(url("grant-remove", granted.pk))
    assert response["Location"] == url("user", caseworker.pk)
    assert not Grant.objects.filter(pk=granted.pk).exists()
    assert "NKS-Stop-Bet on YDELSE Ydelseskontoret is taken from sagsbehandler." in html(
        as_admin.get(response["Location"])
    )
    assert AuditEvent.objects.filter(action__in=["grant_create", "grant_revoke"]).count() == 2


def test_a_repeated_grant_is_refused_and_nothing_changes(as_admin, caseworker, units):
    profile = RoleProfile.objects.get(code="nks-soeg-bet")
    grant(caseworker, "nks-soeg-bet", units.child)
    page = html(
        as_admin.post(
            url("grant-new", caseworker.pk), {"role_profile": profile.pk, "unit": units.child.pk}
        )
    )
    assert "The user already has this role profile on this unit." in field_error(
        page, "role_profile"
    )
    assert Grant.objects.filter(user=caseworker).count() == 1


def test_revoking_or_granting_needs_a_get_free_post(as_admin, caseworker, units):
    held = grant(caseworker, "nks-soeg-bet", units.child)
    assert as_admin.get(url("grant-remove", held.pk)).status_code == 405
    assert as_admin.get(url("grant-new", caseworker.pk)).status_code == 405
    assert Grant.objects.filter(pk=held.pk).exists()


def test_the_local_administrator_deactivates_and_reactivates_a_user(as_admin, caseworker):
    response = as_admin.post(url("user-active", caseworker.pk), {"active": "0"})
    caseworker.refresh_from_db()
    assert not caseworker.is_active
    assert "sagsbehandler is deactivated and can no longer log in." in html(
        as_admin.get(response["Location"])
    )
    as_admin.post(url("user-active", caseworker.pk), {"active": "1"})
    caseworker.refresh_from_db()
    assert caseworker.is_active


def test_the_administrator_cannot_change_their_own_access(as_admin, local_admin, units):
    page = html(as_admin.get(url("user", local_admin.pk)))
    assert "Deactivate the user" not in page
    assert "Your own role profiles are granted and revoked by another administrator." in page
    response = as_admin.post(url("user-active", local_admin.pk), {"active": "0"}, follow=True)
    assert "You cannot change your own access." in html(response)
    profile = RoleProfile.objects.get(code="nks-stop-bet")
    page = html(
        as_admin.post(
            url("grant-new", local_admin.pk), {"role_profile": profile.pk, "unit": units.root.pk}
        )
    )
    assert "Your own role profiles are granted by another administrator." in page
    local_admin.refresh_from_db()
    assert local_admin.is_active
    assert not Grant.objects.filter(user=local_admin, role_profile=profile).exists()


def test_a_branch_administrator_cannot_touch_grants_outside_the_branch(
    client, authority, units, caseworker
):
    branch_admin = EmployeeFactory.create(username="grenadmin", authority=authority)
    grant(branch_admin, "nks-lokal-admin", units.child)
    outside = grant(caseworker, "nks-soeg-bet", units.sibling)
    client.force_login(branch_admin)
    page = html(client.get(url("user", caseworker.pk)))
    assert "SKAT" not in page  # the grant on the sibling is not shown
    assert client.post(url("grant-remove", outside.pk)).status_code == 404
    response = client.post(url("user-active", caseworker.pk), {"active": "0"}, follow=True)
    assert "The user has role profiles on units you do not administer." in html(response)
    caseworker.refresh_from_db()
    assert caseworker.is_active
    assert Grant.objects.filter(pk=outside.pk).exists()


def test_users_of_another_authority_are_404(as_admin, outsider):
    assert as_admin.get(url("user", outsider.pk)).status_code == 404
    assert as_admin.post(url("user-active", outsider.pk), {"active": "0"}).status_code == 404
    outsider.refresh_from_db()
    assert outsider.is_active


# --- Readiness ---------------------------------------------------------------------------------


def test_the_checklist_lists_items_1_1_to_1_11_with_reasons(as_admin):
    page = html(as_admin.get(url("readiness")))
    for number in range(1, 12):
        assert f"1.{number} " in page
    assert "No connection agreement with any payment system." in page
    assert "Not confirmed by the local administrator yet." in page
    assert "meets 0 of the 11 items" in page
    assert "No user has the profile NKS-Søg-Bet (Search pending payments)." in page


def test_the_local_administrator_confirms_and_withdraws_an_item(as_admin, local_admin, authority):
    response = as_admin.post(url("readiness-item", "1.4"), {"note": "Tjekket i sagssystemet"})
    assert response["Location"] == url("readiness")
    confirmation = ReadinessConfirmation.objects.get(authority=authority, item="1.4")
    assert (confirmation.confirmed_by, confirmation.note) == (
        local_admin,
        "Tjekket i sagssystemet",
    )
    page = html(as_admin.get(url("readiness")))
    assert "Item 1.4 is confirmed." in page
    assert "Tjekket i sagssystemet" in page
    assert "meets 1 of the 11 items" in page

    as_admin.post(url("readiness-item", "1.4"), {"withdraw": "1"})
    assert not ReadinessConfirmation.objects.exists()


def test_a_computed_item_cannot_be_confirmed_by_hand(as_admin):
    response = as_admin.post(url("readiness-item", "1.1"), {"note": ""}, follow=True)
    assert "Item 1.1 is computed from the data and cannot be confirmed by hand." in html(response)
    assert not ReadinessConfirmation.objects.exists()


def test_a_branch_administrator_sees_the_checklist_but_cannot_confirm(client, authority, units):
    branch_admin = EmployeeFactory.create(authority=authority)
    grant(branch_admin, "nks-lokal-admin", units.child)
    client.force_login(branch_admin)
    page = html(client.get(url("readiness")))
    assert "Only a local administrator of the whole authority" in page
    assert url("readiness-item", "1.4") not in page
    response = client.post(url("readiness-item", "1.4"), {"note": ""}, follow=True)
    assert "Only the local administrator of" in html(response)
    assert not ReadinessConfirmation.objects.exists()


# --- Control lists -----------------------------------------------------------------------------


def test_role_profiles_per_unit_lists_every_grant_on_the_administrators_units(
    as_admin, caseworker, units, outsider
):
    grant(caseworker, "nks-soeg-bet", units.grandchild)
    page = html(as_admin.get(url("role-profiles")))
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", page)
    assert ("ROOT Kommunen", "NKS-Lokal-Admin") in rows
    assert ("YDELSE Ydelseskontoret", "NKS-Søg-Bet") in rows
    assert "udefra" not in page


def test_grants_without_recent_use_lists_users_who_have_not_logged_in(
    as_admin, local_admin, caseworker, units
):
    grant(caseworker, "nks-soeg-bet", units.child)
    User.objects.filter(pk=local_admin.pk).update(last_login=timezone.now())
    page = html(as_admin.get(url("unused-grants")))
    assert f">{caseworker.get_full_name()}</a>" in page
    assert "Never" in page
    assert f">{local_admin.get_full_name()}</a>" not in page

    User.objects.filter(pk=caseworker.pk).update(
        last_login=timezone.now() - datetime.timedelta(days=40)
    )
    page = html(as_admin.get(url("unused-grants"), {"days": "30"}))
    assert f">{caseworker.get_full_name()}</a>" in page
    page = html(as_admin.get(url("unused-grants"), {"days": "90"}))
    assert f">{caseworker.get_full_name()}</a>" not in page


def test_changes_lists_what_the_authoritys_users_changed(as_admin, local_admin, caseworker, units):
    grant_create(
        actor=local_admin,
        user=caseworker,
        role_profile=RoleProfile.objects.get(code="nks-soeg-bet"),
        unit=units.child,
    )
    page = html(as_admin.get(url("changes")))
    assert "Role profile granted" in page
    assert "<td>lokaladmin</td>" in page
    assert "username: sagsbehandler" in page
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    page = html(as_admin.get(url("changes"), {"date_from": tomorrow, "date_to": tomorrow}))
    assert "No changes in the period." in page


def test_a_reversed_period_is_named_on_its_field(as_admin):
    page = html(as_admin.get(url("changes"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}))
    assert "The period ends before it begins." in field_error(page, "date_to")
    assert "<table" not in page


def test_account_changes_list_the_authoritys_specific_accounts_with_a_csv_link(
    as_admin, authority, benefit
):
    recipient = Recipient.objects.create(
        id_type="CPR", id_number="0101901234", name="Nina", address="Vej 1", postcode="1000"
    )
    SpecificAccount.objects.create(
        recipient=recipient,
        authority=authority,
        benefit=benefit,
        account_kind="danish",
        reg="5301",
        number="0000987654",
        state=SpecificAccount.State.ACTIVE,
        channel="caseworker",
        actor_label="sagsbehandler",
    )
    page = html(as_admin.get(url("account-changes")))
    assert "Specific account" in page
    assert "BOERNECHECK" in page
    assert "****7654" in page
    assert f"/api/v1/authorities/{authority.code}/control-list.csv?from=" in page
