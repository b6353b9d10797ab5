"""Helpers for the payments set-up tests."""

import datetime
from typing import Any, cast

from rest_framework.test import APIClient

from accounts.models import Authority, LosUnit, User
from accounts.tests.factories import AuthorityFactory, EmployeeFactory, LosUnitFactory
from payments.models import ConnectionAgreement, PaymentSystem


def employee(**fields: Any) -> User:
    """An authority employee (the factory, typed)."""
    return cast(User, EmployeeFactory(**fields))


def make_authority(**fields: Any) -> Authority:
    return cast(Authority, AuthorityFactory(**fields))


def los_unit(**fields: Any) -> LosUnit:
    return cast(LosUnit, LosUnitFactory(**fields))


PERSONAS = (
    "anonymous",
    "citizen",
    "caseworker",
    "outsider",
    "on_parent",
    "on_child",
    "on_sibling",
    "operator",
)


def agreement_with(
    authority: Authority,
    system: PaymentSystem,
    status: str = ConnectionAgreement.Status.REQUESTED,
    **fields: Any,
) -> ConnectionAgreement:
    """An agreement in ``status``, written directly (the services are tested on their own)."""
    activated = (
        datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)
        if status in (ConnectionAgreement.Status.ACTIVE, ConnectionAgreement.Status.SUSPENDED)
        else None
    )
    return ConnectionAgreement.objects.create(
        authority=authority, payment_system=system, status=status, activated_at=activated, **fields
    )


def go_live(agreement: ConnectionAgreement) -> ConnectionAgreement:
    """Make an agreement in test active directly, as if its test script had passed (the script
    and the refusal are driven for real in ``payments.tests.test_test_mode``)."""
    ConnectionAgreement.objects.filter(pk=agreement.pk).update(
        status=ConnectionAgreement.Status.ACTIVE,
        activated_at=datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC),
    )
    agreement.refresh_from_db()
    return agreement


def login(api: APIClient, user: User | None) -> APIClient:
    if user is not None:
        api.force_login(user)
    return api
