"""Persona fixtures shared by every app's tests (ARCHITECTURE.md section 6).

One municipality with a three-level LOS tree (root > child > grandchild, and a sibling of the
child) and another authority. Caseworkers get role profiles with ``accounts.tests.factories.grant``.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import translation

from accounts.models import Authority, LosUnit, User
from accounts.tests.factories import (
    AuthorityFactory,
    CitizenFactory,
    EmployeeFactory,
    LosUnitFactory,
    grant,
)


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the site's default language: a request to an /en/ page leaves
    LocaleMiddleware's English active in the test's thread, and the next test's ``reverse``
    would then build English URLs."""
    yield
    translation.deactivate()


@dataclass
class Tree:
    root: LosUnit
    child: LosUnit
    grandchild: LosUnit
    sibling: LosUnit


@pytest.fixture
def authority(db: None) -> Authority:
    return AuthorityFactory.create(code="kbh", name="Testkøbing Kommune")


@pytest.fixture
def other_authority(db: None) -> Authority:
    return AuthorityFactory.create(code="andre", name="Anden Styrelse", kind=Authority.Kind.STATE)


@pytest.fixture
def units(authority: Authority) -> Tree:
    root = LosUnitFactory.create(authority=authority, code="ROOT", name="Kommunen")
    child = LosUnitFactory.create(parent=root, code="BORGER", name="Borgerservice")
    grandchild = LosUnitFactory.create(parent=child, code="YDELSE", name="Ydelseskontoret")
    sibling = LosUnitFactory.create(parent=root, code="SKAT", name="Opkrævningen")
    return Tree(root=root, child=child, grandchild=grandchild, sibling=sibling)


@pytest.fixture
def other_unit(other_authority: Authority) -> LosUnit:
    return LosUnitFactory.create(authority=other_authority, code="STAT", name="Styrelsen")


@pytest.fixture
def citizen(db: None) -> User:
    return CitizenFactory.create(username="borger", recipient_id="0101901234")


@pytest.fixture
def another_citizen(db: None) -> User:
    return CitizenFactory.create(username="anden-borger", recipient_id="0202851234")


@pytest.fixture
def caseworker(authority: Authority, units: Tree) -> User:
    """A caseworker of the authority without any role profile."""
    return EmployeeFactory.create(username="sagsbehandler", authority=authority)


@pytest.fixture
def local_admin(authority: Authority, units: Tree) -> User:
    """The authority's local administrator (NKS-Lokal-Admin on the root unit)."""
    admin = EmployeeFactory.create(username="lokaladmin", authority=authority)
    grant(admin, "nks-lokal-admin", units.root)
    return admin


@pytest.fixture
def outsider(other_authority: Authority, other_unit: LosUnit) -> User:
    """A caseworker of another authority, with every standard profile on its own unit."""
    user = EmployeeFactory.create(username="udefra", authority=other_authority)
    for code in ("nks-opdater-nemkonto", "nks-opdater-speckonto", "nks-stop-bet", "nks-ydelser"):
        grant(user, code, other_unit)
    grant(user, "nks-lokal-admin", other_unit)
    return user


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user(
        "drift", password="test-password-123", kind=User.Kind.OPERATOR, is_staff=True
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    # Here, not in tests/benchmarks/conftest.py: pytest reads options only from the top-level
    # conftest (and plugins). The benchmarks are skipped without it (tests/benchmarks/conftest.py).
    parser.addoption(
        "--run-benchmarks",
        action="store_true",
        default=False,
        help="run the tests marked @pytest.mark.benchmark (skipped otherwise)",
    )
