"""Reads scoped to the actor; the unit scope is one statement whatever the tree size."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.functions import Function
from accounts.models import Grant, RoleProfile
from accounts.selectors import (
    audit_event_list,
    employee_get,
    employee_list,
    grant_get,
    grant_list,
    is_local_administrator,
    role_profile_list,
    unit_tree,
    units_for,
)
from accounts.tests.factories import EmployeeFactory, build_unit_tree, grant
from nemkonto.errors import NotFound


def test_scope_query_is_one_statement_on_a_bigger_tree(authority) -> None:
    tree = build_unit_tree(authority, [1, 6, 36, 216, 1296, 1000])
    assert len(tree) == 2555
    caseworker = EmployeeFactory.create(authority=authority)
    chosen = random.Random(4).sample(tree, 40)  # noqa: S311 - a fixed test sample
    for unit in chosen:
        grant(caseworker, "nks-soeg-bet", unit)
    expected = {unit.pk for unit in tree if any(unit.path.startswith(c.path) for c in chosen)}
    with CaptureQueriesContext(connection) as queries:
        scope = set(
            units_for(user=caseworker, function=Function.SEARCH_PENDING_PAYMENTS).values_list(
                "pk", flat=True
            )
        )
    assert scope == expected
    assert len(queries) == 1
    # The same single statement serves as a subquery of a bigger read.
    with CaptureQueriesContext(connection) as queries:
        count = Grant.objects.filter(
            unit__in=units_for(user=caseworker, function=Function.SEARCH_PENDING_PAYMENTS)
        ).count()
    assert (count, len(queries)) == (40, 1)


def test_is_local_administrator(local_admin, caseworker, citizen, operator, outsider) -> None:
    assert is_local_administrator(local_admin)
    assert is_local_administrator(operator)
    assert is_local_administrator(outsider)  # of their own authority
    assert not is_local_administrator(caseworker)
    assert not is_local_administrator(citizen)
    local_admin.is_active = False
    assert not is_local_administrator(local_admin)


def test_unit_tree_is_the_admin_scope(local_admin, child_admin, outsider, operator, units) -> None:
    everything = [units.root, units.child, units.grandchild, units.sibling]
    assert list(unit_tree(actor=local_admin)) == sorted(everything, key=lambda u: u.path)
    assert list(unit_tree(actor=child_admin)) == [units.child, units.grandchild]
    assert units.child not in unit_tree(actor=outsider)
    assert set(unit_tree(actor=operator)) >= {units.root, units.child}


def test_employee_list_is_the_admins_authority(
    local_admin, sibling_admin, outsider, colleague, operator
) -> None:
    assert colleague in employee_list(actor=local_admin)
    assert colleague in employee_list(actor=sibling_admin)  # authority-wide
    assert colleague not in employee_list(actor=outsider)
    assert operator not in employee_list(actor=operator)  # employees only
    with pytest.raises(NotFound):
        employee_get(actor=outsider, user_id=colleague.pk)
    with pytest.raises(NotFound):
        employee_get(actor=local_admin, user_id=999_999)


def test_employee_search(local_admin, colleague, caseworker) -> None:
    assert list(employee_list(actor=local_admin, search="kbh.example")) == [colleague]
    assert list(employee_list(actor=local_admin, search="SAGS")) == [caseworker]
    assert list(employee_list(actor=local_admin, search="kollega nobody")) == []


def test_caseworker_sees_nothing(caseworker, colleague) -> None:
    assert not employee_list(actor=caseworker).exists()
    assert not grant_list(actor=caseworker).exists()
    assert not role_profile_list(actor=caseworker).exists()
    assert not audit_event_list(actor=caseworker).exists()


def test_grant_list_is_scoped_by_unit(local_admin, sibling_admin, outsider, colleague) -> None:
    held = colleague.grants.get()
    assert held in grant_list(actor=local_admin)
    assert held not in grant_list(actor=sibling_admin)
    assert held not in grant_list(actor=outsider)
    assert list(grant_list(actor=local_admin, user_id=colleague.pk)) == [held]
    with pytest.raises(NotFound):
        grant_get(actor=sibling_admin, grant_id=held.pk)


def test_audit_list_hides_units_outside_scope(
    local_admin, child_admin, sibling_admin, outsider, caseworker, units
) -> None:
    search = RoleProfile.objects.get(code="nks-soeg-bet")
    on_child = services.grant_create(
        actor=local_admin, user=caseworker, role_profile=search, unit=units.child
    )
    on_sibling = services.grant_create(
        actor=local_admin, user=caseworker, role_profile=search, unit=units.sibling
    )
    services.employee_deactivate(actor=local_admin, user=caseworker)

    def seen(actor):
        return {(e.action, e.target_id) for e in audit_event_list(actor=actor)}

    child_event = ("grant_create", str(on_child.pk))
    sibling_event = ("grant_create", str(on_sibling.pk))
    user_event = ("employee_deactivate", str(caseworker.pk))
    assert {child_event, sibling_event, user_event} <= seen(local_admin)
    assert child_event in seen(child_admin)
    assert sibling_event not in seen(child_admin)
    assert user_event in seen(child_admin)  # about no unit: the whole authority's
    assert child_event not in seen(sibling_admin)
    assert seen(outsider).isdisjoint({child_event, sibling_event, user_event})
    assert list(audit_event_list(actor=local_admin, action="employee_deactivate")) == [
        audit_event_list(actor=local_admin).get(action="employee_deactivate")
    ]
