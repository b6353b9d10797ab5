"""The readiness checklist (issue 4, acceptance 5): each item met or not, and why.

The reasons are asserted in Danish: the checklist is read by Danish operators (admin) and local
administrators, and runs in the active language, Danish by default."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.factories import grant
from payments import services
from payments.models import Benefit, ConnectionAgreement
from payments.readiness import MANUAL_ITEMS, readiness_for
from payments.tests.helpers import agreement_with, employee

Status = ConnectionAgreement.Status
pytestmark = pytest.mark.django_db


def by_item(authority):
    return {item.item: item for item in readiness_for(authority)}


@pytest.fixture
def ready(authority, units, local_admin, operator, system, bank):
    """An authority that has done everything: every item is met."""
    agreement_with(authority, system, Status.ACTIVE)
    Benefit.objects.create(authority=authority, code="B1", name="Boligstøtte")
    services.bank_agreement_create(
        actor=operator,
        authority=authority,
        bank=bank,
        number="10001",
        pays_from=datetime.date(2026, 12, 1),
        disbursement_accounts=[("3000", "4711")],
    )
    clerk = employee(authority=authority, first_name="Sara", last_name="Sagsbehandler")
    for profile in ("nks-opdater-nemkonto", "nks-opdater-speckonto", "nks-soeg-bet"):
        grant(clerk, profile, units.child)
    for item in MANUAL_ITEMS:
        services.readiness_confirm(actor=local_admin, authority=authority, item=item.value)
    return authority


def test_the_checklist_has_the_guides_eleven_items_in_order(authority):
    items = readiness_for(authority)
    assert [i.item for i in items] == [f"1.{n}" for n in range(1, 12)]
    assert {i.item for i in items if i.how == "confirmed"} == {i.value for i in MANUAL_ITEMS}
    assert {i.item for i in items if i.how == "data"} == {"1.1", "1.2", "1.3", "1.6"}


def test_a_new_authority_meets_nothing_and_each_item_says_why(authority, units):
    items = by_item(authority)
    assert not any(item.met for item in items.values())
    assert "Ingen tilslutningsaftale med noget betalingssystem." in items["1.1"].why
    assert "Der er ikke oprettet nogen aktiv ydelse" in items["1.1"].why
    assert items["1.2"].why.startswith("Der er ikke registreret nogen pengeinstitutaftale")
    assert "Ingen bruger har profilen NKS-Lokal-Admin" in items["1.3"].why
    assert "Ingen bruger har profilen NKS-Søg-Bet" in items["1.3"].why
    assert "Ingen bruger har profilen NKS-Opdater-SpecKonto" in items["1.6"].why
    assert items["1.4"].why == "Endnu ikke bekræftet af den lokale administrator."


def test_an_authority_that_has_done_everything_meets_every_item(ready):
    items = by_item(ready)
    assert all(item.met for item in items.values()), [i for i in items.values() if not i.met]
    assert "Aftalen med KMD Ydelse har været aktiv siden 2026-11-01." in items["1.1"].why
    assert "1 aktiv ydelse er oprettet." in items["1.1"].why
    assert items["1.2"].why == (
        "Pengeinstitutaftale 10001 med Danske Bank; udbetaler via NemKonto fra 2026-12-01."
    )
    assert "1 bruger har profilen NKS-Søg-Bet." in items["1.3"].why
    assert items["1.7"].why.startswith("Bekræftet af ")


def test_an_agreement_in_test_does_not_meet_item_1_1(authority, system, other_system):
    agreement_with(authority, system, Status.IN_TEST)
    agreement_with(authority, other_system, Status.REQUESTED)
    Benefit.objects.create(authority=authority, code="B1", name="Boligstøtte")
    item = by_item(authority)["1.1"]
    assert not item.met
    assert "Aftalen med KMD Ydelse er i test og ikke aktiv." in item.why
    assert "Aftalen med SAP Statens Løn er ansøgt og ikke aktiv." in item.why


def test_an_active_agreement_without_benefits_does_not_meet_item_1_1(authority, system):
    agreement_with(authority, system, Status.ACTIVE)
    Benefit.objects.create(authority=authority, code="B1", name="Gammel", is_active=False)
    item = by_item(authority)["1.1"]
    assert not item.met
    assert "Aftalen med KMD Ydelse har været aktiv siden 2026-11-01." in item.why
    assert "Der er ikke oprettet nogen aktiv ydelse" in item.why


def test_profiles_count_only_for_active_employees_of_the_authority(
    authority, units, local_admin, outsider
):
    gone = employee(authority=authority, is_active=False)
    grant(gone, "nks-soeg-bet", units.root)
    grant(gone, "nks-opdater-nemkonto", units.root)
    item = by_item(authority)["1.3"]
    assert not item.met
    assert "Ingen bruger har profilen NKS-Søg-Bet" in item.why
    assert "NKS-Lokal-Admin" not in item.why  # the local admin counts
    # The outsider holds every profile, but in another authority.
    assert "Ingen bruger har profilen NKS-Opdater-NemKonto" in item.why


def test_a_withdrawn_confirmation_unmeets_the_item(ready, local_admin):
    services.readiness_withdraw(actor=local_admin, authority=ready, item="1.10")
    item = by_item(ready)["1.10"]
    assert (item.met, item.why) == (False, "Endnu ikke bekræftet af den lokale administrator.")


def test_the_checklist_takes_a_fixed_number_of_queries(ready, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        readiness_for(ready)


def test_readiness_command_prints_json(ready, other_authority, capsys):
    call_command("readiness", "--json")
    printed = json.loads(capsys.readouterr().out)
    codes = [a["code"] for a in printed["authorities"]]
    assert codes == ["andre", "kbh"]
    kbh = printed["authorities"][1]
    assert (kbh["met"], kbh["total"]) == (11, 11)
    assert kbh["items"][0]["how"] == "data"
    assert printed["authorities"][0]["met"] == 0


def test_readiness_command_for_one_authority_as_text(ready, capsys):
    call_command("readiness", "--authority", "kbh")
    out = capsys.readouterr().out
    assert out.startswith("kbh Testkøbing Kommune: 11 of 11 met")
    assert "[x] 1.1" in out


def test_readiness_command_refuses_an_unknown_authority():
    with pytest.raises(CommandError, match="No authority with the code nope"):
        call_command("readiness", "--authority", "nope")
