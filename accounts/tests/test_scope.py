from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.functions import Function
from accounts.selectors import units_for, user_has_function
from accounts.tests.factories import grant


def test_grant_on_parent_covers_children_not_siblings(caseworker, units) -> None:
    grant(caseworker, "nks-opdater-nemkonto", units.child)
    scope = set(units_for(user=caseworker, function=Function.UPDATE_NEMKONTO))
    assert scope == {units.child, units.grandchild}
    assert not user_has_function(
        user=caseworker, function=Function.UPDATE_NEMKONTO, unit=units.sibling
    )
    assert set(units_for(user=caseworker, function=Function.MAINTAIN_BENEFITS)) == set()


def test_profile_with_two_functions_grants_both(caseworker, units) -> None:
    grant(caseworker, "nks-stop-bet", units.root)
    for function in (Function.SEARCH_PENDING_PAYMENTS, Function.STOP_PENDING_PAYMENTS):
        assert units.grandchild in units_for(user=caseworker, function=function)


def test_grant_rows_outside_own_authority_are_ignored(caseworker, units, other_unit) -> None:
    grant(caseworker, "nks-opdater-nemkonto", other_unit)
    assert list(units_for(user=caseworker, function=Function.UPDATE_NEMKONTO)) == []


def test_scope_is_one_statement(caseworker, units) -> None:
    for unit in (units.child, units.sibling):
        grant(caseworker, "nks-opdater-nemkonto", unit)
    with CaptureQueriesContext(connection) as queries:
        scope = list(units_for(user=caseworker, function=Function.UPDATE_NEMKONTO))
    assert len(scope) == 3
    assert len(queries) == 1


def test_deactivated_user_has_no_scope(caseworker, units) -> None:
    grant(caseworker, "nks-opdater-nemkonto", units.root)
    caseworker.is_active = False
    caseworker.save()
    assert list(units_for(user=caseworker, function=Function.UPDATE_NEMKONTO)) == []
