"""Issue 7, acceptance 3 for the administration: a local administrator who also maintains the
benefits goes through every administration page, grants a role profile, and axe-core finds no
serious or critical violation on any of them."""

from playwright.sync_api import expect

from accounts.models import Grant, RoleProfile
from payments.tests.payment_factories import caseworker_with
from payments.tests.pipeline_world import build_world


def test_the_administration_pages_work_and_are_accessible(
    page, login, assert_accessible, screenshot
) -> None:
    world = build_world()
    admin = caseworker_with(
        world.authority, world.root, "nks-lokal-admin", "nks-ydelser", username="lone-admin"
    )
    colleague = caseworker_with(world.authority, world.unit, username="carl-kollega")
    login(page, admin, next="/administration/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    assert_accessible(page)

    for path in (
        "/administration/ydelser/",
        "/administration/ydelser/ny/",
        "/administration/brugere/",
        "/administration/brugere/ny/",
        "/administration/parathed/",
        "/administration/kontrollister/",
        "/administration/kontrollister/kontoaendringer/",
        "/administration/kontrollister/rolleprofiler/",
        "/administration/kontrollister/ubrugte/",
        "/administration/kontrollister/aendringer/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert_accessible(page)
    screenshot(page, "administration-changes")

    page.goto(f"/administration/brugere/{colleague.pk}/")
    profile = RoleProfile.objects.get(code="nks-soeg-bet")
    page.locator("#id_role_profile").select_option(value=str(profile.pk))
    page.locator("#id_unit").select_option(value=str(world.unit.pk))
    page.locator('form[action$="/rolleprofiler/"] button[type="submit"]').click()
    expect(page.locator(".alert-success")).to_contain_text("NKS-Søg-Bet")
    assert_accessible(page)
    screenshot(page, "administration-user")
    assert Grant.objects.filter(user=colleague, role_profile__code="nks-soeg-bet").exists()
