"""Personas for the local administration tests, beside the shared ones in the root conftest."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Authority, User
from accounts.tests.factories import EmployeeFactory, grant


@pytest.fixture
def sibling_admin(authority: Authority, units) -> User:
    """A local administrator whose only grant is on the sibling of ``units.child``."""
    admin = EmployeeFactory.create(username="siblingadmin", authority=authority)
    grant(admin, "nks-lokal-admin", units.sibling)
    return admin


@pytest.fixture
def child_admin(authority: Authority, units) -> User:
    """A local administrator of ``units.child`` (and so of the grandchild)."""
    admin = EmployeeFactory.create(username="childadmin", authority=authority)
    grant(admin, "nks-lokal-admin", units.child)
    return admin


@pytest.fixture
def colleague(authority: Authority, units) -> User:
    """A caseworker of the authority with a search profile on ``units.child``."""
    user = EmployeeFactory.create(
        username="kollega", authority=authority, email="kollega@kbh.example"
    )
    grant(user, "nks-soeg-bet", units.child)
    return user


@pytest.fixture
def api() -> APIClient:
    return APIClient()
