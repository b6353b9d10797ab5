"""API clients: creation bound by kind, hashed secrets, rotation, deactivation, scopes per kind,
and the ``create_api_client`` operator command (API.md)."""

import json
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_application_model

from accounts.api_clients import (
    api_client_create,
    api_client_deactivate,
    api_client_rotate_secret,
)
from accounts.models import ApiClient, AuditEvent, Authority, Bank
from accounts.oauth import ApiClientScopes
from nemkonto.errors import Conflict, PermissionDenied, ValidationFailed
from payments.models import ConnectionAgreement, PaymentSystem

Application = get_application_model()
Kind = ApiClient.Kind
Status = ConnectionAgreement.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def system(db: None) -> PaymentSystem:
    return PaymentSystem.objects.create(code="kmd-ydelse", name="KMD Ydelse")


@pytest.fixture
def bank(db: None) -> Bank:
    return Bank.objects.create(reg="3000", bic="DABADKKK", name="Danske Bank")


@pytest.fixture
def agreement(authority: Authority, system: PaymentSystem) -> ConnectionAgreement:
    return ConnectionAgreement.objects.create(
        authority=authority, payment_system=system, status=Status.IN_TEST
    )


def make(actor: Any, **kwargs: Any):
    return api_client_create(actor=actor, name=kwargs.pop("name", "Klient"), **kwargs)


# --- Creation ------------------------------------------------------------------------------


def test_payment_system_client_is_a_confidential_client_credentials_app_with_a_hashed_secret(
    operator, authority, system, agreement
):
    created = make(operator, kind=Kind.PAYMENT_SYSTEM, authority=authority, payment_system=system)
    app = Application.objects.get(client_id=created.client_id)
    assert app.client_type == Application.CLIENT_CONFIDENTIAL
    assert app.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert app.client_secret != created.client_secret
    assert check_password(created.client_secret, app.client_secret)
    assert created.scopes == ["payments"]
    assert (created.api_client.authority, created.api_client.payment_system) == (authority, system)
    event = AuditEvent.objects.get(action="api_client.create")
    assert event.actor == operator
    assert created.client_secret not in json.dumps(event.data)


@pytest.mark.parametrize(("kind", "scope"), [(Kind.AUTHORITY, "resolve"), (Kind.BANK, "bank")])
def test_authority_and_bank_clients_get_their_scope(operator, authority, bank, kind, scope):
    binding = {"authority": authority} if kind == Kind.AUTHORITY else {"bank": bank}
    assert make(operator, kind=kind, **binding).scopes == [scope]


@pytest.mark.parametrize(
    ("kind", "binding", "field"),
    [
        (Kind.PAYMENT_SYSTEM, {"authority"}, "payment_system"),
        (Kind.PAYMENT_SYSTEM, {"authority", "payment_system", "bank"}, "bank"),
        (Kind.AUTHORITY, set(), "authority"),
        (Kind.AUTHORITY, {"authority", "payment_system"}, "payment_system"),
        (Kind.BANK, {"bank", "authority"}, "authority"),
        ("robot", {"bank"}, "kind"),
    ],
)
def test_binding_must_fit_the_kind(
    operator, authority, system, bank, agreement, kind, binding, field
):
    given = {"authority": authority, "payment_system": system, "bank": bank}
    with pytest.raises(ValidationFailed) as refused:
        make(operator, kind=kind, **{name: given[name] for name in binding})
    assert refused.value.field == field
    assert not Application.objects.exists()


@pytest.mark.parametrize("status", [None, Status.REQUESTED, Status.SUSPENDED, Status.TERMINATED])
def test_payment_system_client_needs_an_agreement_in_test_or_active(
    operator, authority, system, status
):
    if status is not None:
        ConnectionAgreement.objects.create(
            authority=authority,
            payment_system=system,
            status=status,
            activated_at="2026-11-01T09:00Z" if status == Status.SUSPENDED else None,
        )
    # Operators get the service's answer in the active language, Danish by default.
    with pytest.raises(
        Conflict, match="der oprettes kun en klient til en aftale, der er i test eller aktiv"
    ):
        make(operator, kind=Kind.PAYMENT_SYSTEM, authority=authority, payment_system=system)
    assert not ApiClient.objects.exists()


def test_inactive_authority_gets_no_client(operator, authority):
    authority.is_active = False
    authority.save()
    with pytest.raises(ValidationFailed):
        make(operator, kind=Kind.AUTHORITY, authority=authority)


@pytest.mark.parametrize("who", ["local_admin", "caseworker", "citizen"])
def test_only_operators_manage_api_clients(request, authority, units, bank, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        make(actor, kind=Kind.BANK, bank=bank)
    assert not Application.objects.exists()
    client = make(None, kind=Kind.BANK, bank=bank).api_client
    secret = client.application.client_secret
    with pytest.raises(PermissionDenied):
        api_client_rotate_secret(actor=actor, api_client=client)
    with pytest.raises(PermissionDenied):
        api_client_deactivate(actor=actor, api_client=client)
    client.refresh_from_db()
    client.application.refresh_from_db()
    assert (client.is_active, client.application.client_secret) == (True, secret)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["api_client.create"]


# --- Rotation and deactivation -------------------------------------------------------------


def test_rotation_gives_a_new_secret_once_and_is_audited(operator, bank):
    created = make(operator, kind=Kind.BANK, bank=bank)
    rotated = api_client_rotate_secret(actor=operator, api_client=created.api_client)
    assert rotated.client_id == created.client_id
    assert rotated.client_secret != created.client_secret
    app = Application.objects.get(client_id=created.client_id)
    assert check_password(rotated.client_secret, app.client_secret)
    assert not check_password(created.client_secret, app.client_secret)
    client = ApiClient.objects.get()
    assert client.secret_rotated_at is not None
    assert AuditEvent.objects.filter(action="api_client.rotate_secret").count() == 1


def test_deactivation_is_final_for_the_secret_and_happens_once(operator, bank):
    created = make(operator, kind=Kind.BANK, bank=bank)
    api_client_deactivate(actor=operator, api_client=created.api_client)
    api_client_deactivate(actor=operator, api_client=created.api_client)
    client = ApiClient.objects.select_related("application").get()
    assert client.is_active is False
    assert not check_password(created.client_secret, client.application.client_secret)
    assert AuditEvent.objects.filter(action="api_client.deactivate").count() == 1
    with pytest.raises(Conflict):
        api_client_rotate_secret(actor=operator, api_client=client)


# --- Scopes backend ------------------------------------------------------------------------


def test_scopes_backend_gives_each_client_its_kinds_scope_only(operator, authority, bank):
    scopes = ApiClientScopes()
    bank_app = make(operator, kind=Kind.BANK, bank=bank).api_client.application
    assert scopes.get_available_scopes(application=bank_app) == ["bank"]
    assert scopes.get_default_scopes(application=bank_app) == ["bank"]
    plain = Application.objects.create(
        name="By hand",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    assert scopes.get_available_scopes(application=plain) == []
    ApiClient.objects.update(is_active=False)
    assert scopes.get_available_scopes(application=ApiClient.objects.get().application) == []
    # The server's own list (metadata) is every scope.
    assert set(scopes.get_available_scopes()) == {"payments", "resolve", "bank"}


# --- The command ---------------------------------------------------------------------------


def run(*args: str) -> dict[str, Any]:
    from io import StringIO

    out = StringIO()
    call_command("create_api_client", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_command_creates_a_payment_system_client_for_an_active_agreement(
    authority, system, agreement
):
    agreement.status = Status.ACTIVE
    agreement.activated_at = "2026-11-01T09:00Z"
    agreement.save()
    printed = run(
        "--kind", "payment_system", "--authority", "kbh", "--payment-system", "kmd-ydelse"
    )
    assert set(printed) == {"client_id", "client_secret", "scopes"}
    assert printed["scopes"] == ["payments"]
    app = Application.objects.get(client_id=printed["client_id"])
    assert check_password(printed["client_secret"], app.client_secret)
    assert AuditEvent.objects.get(action="api_client.create").actor_label == "system"


def test_command_refuses_an_agreement_in_test_unless_told(authority, system, agreement):
    with pytest.raises(CommandError, match="No active connection agreement between kbh"):
        run("--kind", "payment_system", "--authority", "kbh", "--payment-system", "kmd-ydelse")
    assert not ApiClient.objects.exists()
    printed = run(
        "--kind",
        "payment_system",
        "--authority",
        "kbh",
        "--payment-system",
        "kmd-ydelse",
        "--allow-test",
    )
    assert printed["scopes"] == ["payments"]


def test_command_creates_bank_and_authority_clients(authority, bank):
    assert run("--kind", "bank", "--bank", "3000")["scopes"] == ["bank"]
    assert run("--kind", "authority", "--authority", "kbh")["scopes"] == ["resolve"]
    assert ApiClient.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "bank", "--bank", "9999"], "No bank with the registration number 9999"),
        (["--kind", "authority", "--authority", "nope"], "No authority with the code nope"),
        (
            ["--kind", "payment_system", "--authority", "kbh"],
            # The service's own messages come in the active language, Danish by default.
            "Betalingssystem skal have angivet, hvem den handler for",
        ),
        (
            ["--kind", "payment_system", "--authority", "kbh", "--payment-system", "nope"],
            "No payment system with the code nope",
        ),
        (
            ["--kind", "bank", "--bank", "3000", "--authority", "kbh"],
            "Pengeinstitut kan ikke knyttes til feltet authority",
        ),
        ([], "Give exactly one of --kind"),
        (["--rotate", "unknown"], "No API client with the client id unknown"),
    ],
)
def test_command_says_what_is_wrong(authority, bank, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ApiClient.objects.exists()


def test_command_rotates_and_deactivates(bank):
    created = run("--kind", "bank", "--bank", "3000")
    rotated = run("--rotate", created["client_id"])
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]
    assert run("--deactivate", created["client_id"]) == {
        "client_id": created["client_id"],
        "active": False,
    }
    assert ApiClient.objects.get().is_active is False


def test_command_without_json_says_the_secret_is_shown_once(bank, capsys):
    call_command("create_api_client", "--kind", "bank", "--bank", "3000")
    out = capsys.readouterr().out
    assert "client_secret:" in out
    assert "shown only now" in out
