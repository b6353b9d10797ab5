"""The registry in the Django admin: every page opens for operators, history is read-only, and the
actions (review, letters, notices) go through the services."""

import pytest
from django.urls import reverse

from registry.models import ActivationLetter, LookupLog, NemKonto, Notice, SpecificAccount
from registry.services import nemkonto_change_by_caseworker, nemkonto_set, specific_account_create
from registry.tests.conftest import CITIZEN_CPR, DANISH, DANISH_2, FOREIGN

pytestmark = pytest.mark.django_db
MODELS = ["recipient", "nemkonto", "specificaccount", "activationletter", "lookuplog", "notice"]


@pytest.fixture
def filled(citizen_in_register, nk_caseworker, sa_caseworker, benefit, other_person):
    nemkonto_set(actor=citizen_in_register, account=DANISH)
    specific_account_create(
        actor=sa_caseworker, id_type="CPR", id_number=CITIZEN_CPR, benefit_code="KP", account=DANISH
    )
    return nemkonto_change_by_caseworker(
        actor=nk_caseworker, id_type="CPR", id_number=other_person.id_number, account=DANISH_2
    )


@pytest.mark.parametrize("model", MODELS)
def test_every_page_opens_and_nothing_can_be_added_or_deleted(client, operator, filled, model):
    client.force_login(operator)
    changelist = client.get(reverse(f"admin:registry_{model}_changelist"))
    assert changelist.status_code == 200
    assert client.get(reverse(f"admin:registry_{model}_add")).status_code == 403
    obj = {
        "recipient": filled.version.recipient,
        "nemkonto": filled.version,
        "specificaccount": SpecificAccount.objects.first(),
        "activationletter": filled.letter,
        "lookuplog": None,
        "notice": Notice.objects.first(),
    }[model]
    if obj is not None:
        page = client.get(reverse(f"admin:registry_{model}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content  # read-only
        assert (
            client.post(reverse(f"admin:registry_{model}_delete", args=[obj.pk])).status_code == 403
        )


def test_the_code_hash_is_not_shown(client, operator, filled):
    client.force_login(operator)
    page = client.get(reverse("admin:registry_activationletter_change", args=[filled.letter.pk]))
    assert filled.letter.code_hash.encode() not in page.content


def test_admin_reviews_a_foreign_account(client, operator, citizen_in_register, person):
    held = nemkonto_set(actor=citizen_in_register, account=FOREIGN).version
    client.force_login(operator)
    response = client.post(
        reverse("admin:registry_nemkonto_changelist"),
        {"action": "approve", "_selected_action": [held.pk]},
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.state == NemKonto.State.ACTIVE


def test_admin_marks_letters_printed(client, operator, filled):
    client.force_login(operator)
    client.post(
        reverse("admin:registry_activationletter_changelist"),
        {"action": "mark_printed", "_selected_action": [filled.letter.pk]},
    )
    filled.letter.refresh_from_db()
    assert filled.letter.status == ActivationLetter.Status.PRINTED


def test_admin_sends_notices(client, operator, filled, mailoutbox):
    Notice.objects.update(sent_at=None)
    client.force_login(operator)
    ids = list(Notice.objects.values_list("pk", flat=True))
    client.post(
        reverse("admin:registry_notice_changelist"),
        {"action": "send_now", "_selected_action": ids},
    )
    assert not Notice.objects.filter(sent_at__isnull=True).exists()
    assert len(mailoutbox) >= len(ids)


def test_caseworkers_have_no_admin(client, nk_caseworker, filled):
    client.force_login(nk_caseworker)
    response = client.get(reverse("admin:registry_nemkonto_changelist"))
    assert response.status_code == 302  # to the login page
    assert LookupLog.objects.count() == 0
