"""Payment systems' access end to end (issue 4, acceptance 4): a client is made with the service,
gets a token at POST /o/token/ and calls GET /api/v1/connection, which answers 403 with a clear
problem document until its connection agreement is in test (test mode) or active."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.api_clients import (
    api_client_create,
    api_client_deactivate,
    api_client_rotate_secret,
)
from accounts.models import ApiClient
from payments import services
from payments.models import Benefit, ConnectionAgreement
from payments.tests.helpers import agreement_with, go_live, los_unit

Status = ConnectionAgreement.Status
Application = get_application_model()
pytestmark = pytest.mark.django_db
CONNECTION = "/api/v1/connection"


def token_request(client: Client, client_id: str, secret: str, scope: str | None = "payments"):
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    return client.post(
        "/o/token/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )


def token_for(client: Client, credentials, scope: str | None = "payments") -> str:
    response = token_request(client, credentials.client_id, credentials.client_secret, scope)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def call(client: Client, token: str):
    return client.get(CONNECTION, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def in_test(authority, system):
    return agreement_with(authority, system, Status.IN_TEST)


@pytest.fixture
def credentials(operator, authority, system, in_test):
    return api_client_create(
        actor=operator,
        kind=ApiClient.Kind.PAYMENT_SYSTEM,
        name="KMD Ydelse for Testkøbing",
        authority=authority,
        payment_system=system,
    )


def test_client_of_an_agreement_in_test_is_let_in_for_test_mode(client, credentials, in_test):
    token = token_for(client, credentials)

    in_test_mode = call(client, token)
    assert in_test_mode.status_code == 200, in_test_mode.content
    assert in_test_mode.json()["agreement"]["status"] == "in_test"

    go_live(in_test)
    allowed = call(client, token)
    assert allowed.status_code == 200, allowed.content
    assert allowed.json()["agreement"]["status"] == "active"


def test_the_token_endpoint_refuses_another_kinds_scope(client, credentials):
    for scope in ("bank", "resolve", "payments bank", "read"):
        refused = token_request(client, credentials.client_id, credentials.client_secret, scope)
        assert refused.status_code == 400, scope
        assert refused.json()["error"] == "invalid_scope"


def test_a_token_asked_without_scope_gets_the_clients_own(client, credentials):
    response = token_request(client, credentials.client_id, credentials.client_secret, None)
    assert response.json()["scope"] == "payments"


def test_an_application_that_is_not_an_active_api_client_gets_no_token(client, credentials):
    secret = "hand-made-secret-0123456789"
    Application.objects.create(
        name="By hand",
        client_id="by-hand",
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    for scope in (None, "payments"):
        refused = token_request(client, "by-hand", secret, scope)
        assert refused.status_code == 400
        assert refused.json()["error"] == "unauthorized_client"
    # Switched off without its secret replaced (api_client_deactivate also replaces it).
    ApiClient.objects.update(is_active=False)
    refused = token_request(client, credentials.client_id, credentials.client_secret)
    assert refused.json()["error"] == "unauthorized_client"


def test_wrong_secret_gets_no_token(client, credentials):
    refused = token_request(client, credentials.client_id, "not-the-secret")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (
            Status.REQUESTED,
            "The connection agreement between Testkøbing Kommune and KMD Ydelse is requested, "
            "not active: payments cannot be sent yet.",
        ),
        (
            Status.SUSPENDED,
            "The connection agreement between Testkøbing Kommune and KMD Ydelse is suspended: "
            "payments cannot be sent.",
        ),
        (
            Status.TERMINATED,
            "The connection agreement between Testkøbing Kommune and KMD Ydelse is terminated: "
            "payments cannot be sent.",
        ),
    ],
)
def test_every_status_but_active_and_in_test_is_refused_with_its_reason(
    client, credentials, in_test, status, detail
):
    token = token_for(client, credentials)
    ConnectionAgreement.objects.filter(pk=in_test.pk).update(
        status=status, activated_at=timezone.now()
    )
    response = call(client, token)
    assert response.status_code == 403
    assert response.json()["detail"] == detail


def test_connection_tells_what_a_batch_needs(
    client, operator, authority, units, credentials, in_test, bank
):
    go_live(in_test)
    Benefit.objects.create(authority=authority, code="B1", name="Boligstøtte")
    Benefit.objects.create(authority=authority, code="B0", name="Gammel", is_active=False)
    closed = los_unit(parent=units.root, code="LUKKET")
    closed.closed_at = timezone.now()
    closed.save()
    services.bank_agreement_create(
        actor=operator,
        authority=authority,
        bank=bank,
        number="10001",
        pays_from=timezone.localdate(),
        disbursement_accounts=[("3000", "4711")],
    )
    answer = call(client, token_for(client, credentials)).json()
    assert answer["authority"] == {
        "code": "kbh",
        "name": "Testkøbing Kommune",
        "cvr": authority.cvr,
    }
    assert answer["agreement"]["payment_system"] == "kmd-ydelse"
    assert answer["agreement"]["failure_choice"] == "return"
    assert answer["agreement"]["error_account"] is None
    assert answer["benefits"] == [{"code": "B1", "name": "Boligstøtte"}]
    assert [u["code"] for u in answer["los_units"]] == ["BORGER", "ROOT", "SKAT", "YDELSE"]
    assert answer["bank_agreements"] == [
        {
            "number": "10001",
            "bank_reg": "3000",
            "bank_bic": "DABADKKK",
            "pays_from": timezone.localdate().isoformat(),
        }
    ]


def test_a_client_sees_only_its_own_authority(
    client, operator, authority, other_authority, system, credentials, in_test
):
    go_live(in_test)
    other = agreement_with(other_authority, system, Status.ACTIVE)
    Benefit.objects.create(authority=other_authority, code="ANDEN", name="Andres ydelse")
    answer = call(client, token_for(client, credentials)).json()
    assert answer["authority"]["code"] == "kbh"
    assert answer["benefits"] == []
    assert other.status == Status.ACTIVE


def test_no_token_is_401_and_a_session_user_is_403(client, operator):
    anonymous = client.get(CONNECTION)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert anonymous["Content-Type"] == "application/problem+json"
    bogus = client.get(CONNECTION, headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401
    client.force_login(operator)
    assert client.get(CONNECTION).status_code == 401  # the session is not looked at


def test_a_bank_client_is_refused(client, operator, bank):
    bank_client = api_client_create(
        actor=operator, kind=ApiClient.Kind.BANK, name="Danske Bank", bank=bank
    )
    assert (
        token_request(client, bank_client.client_id, bank_client.client_secret).status_code == 400
    )
    token = token_for(client, bank_client, scope="bank")
    response = call(client, token)
    assert response.status_code == 403
    assert response.json()["detail"] == "The token does not have the scope payments."


def test_rotation_ends_the_old_secret_and_its_tokens(client, operator, credentials, in_test):
    go_live(in_test)
    old_token = token_for(client, credentials)
    rotated = api_client_rotate_secret(actor=operator, api_client=credentials.api_client)
    assert call(client, old_token).status_code == 401
    assert (
        token_request(client, credentials.client_id, credentials.client_secret).status_code == 401
    )
    assert call(client, token_for(client, rotated)).status_code == 200


def test_deactivation_ends_access(client, operator, credentials, in_test):
    go_live(in_test)
    token = token_for(client, credentials)
    api_client_deactivate(actor=operator, api_client=credentials.api_client)
    assert call(client, token).status_code == 401
    refused = token_request(client, credentials.client_id, credentials.client_secret)
    assert refused.status_code == 401
