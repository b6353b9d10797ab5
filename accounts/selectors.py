"""Reads scoped to the actor. The unit scope is the root of every permission check."""

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from accounts.functions import Function
from accounts.models import LosUnit, LosUnitUserObjectPermission, User

# Units below a granted unit: its path is a prefix of theirs. Written as a byte-order range
# (g.path <= u.path < g.path || '~'; paths hold only digits and slashes, all below '~') so the
# text_pattern_ops index on path serves it, driven from the user's few permission rows.
_SCOPE_SQL = """
    SELECT unit.id
    FROM {perm} AS granted
    JOIN {unit} AS top ON top.id = granted.content_object_id
    JOIN {unit} AS unit ON unit.path ~>=~ top.path AND unit.path ~<~ (top.path || '~')
    WHERE granted.user_id = %s AND granted.permission_id = (
        SELECT p.id FROM {permission} p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE ct.app_label = 'accounts' AND ct.model = 'losunit' AND p.codename = %s
    )
"""
SCOPE_SQL = _SCOPE_SQL.format(
    perm=LosUnitUserObjectPermission._meta.db_table,
    unit=LosUnit._meta.db_table,
    permission=Permission._meta.db_table,
)


def units_for(*, user: User, function: Function) -> QuerySet[LosUnit]:
    """The LOS units the user may act on for ``function``: every unit granted, and all below.

    One SQL statement, usable as a subquery (``Payment.objects.filter(unit__in=...)``).
    """
    if not user.is_authenticated or not user.is_active:
        return LosUnit.objects.none()
    # unnest(ARRAY(...)) makes the planner run the scope once and fetch the units by primary key,
    # instead of scanning every unit of the tree to hash-join the scope (measured: 6 ms -> 2 ms).
    scope = RawSQL(f"SELECT unnest(ARRAY({SCOPE_SQL}))", (user.pk, function.value))  # noqa: S611
    units = LosUnit.objects.filter(pk__in=scope)
    if user.authority_id is not None:
        # A user acts only inside their own authority, whatever rows may exist.
        units = units.filter(authority_id=user.authority_id)
    return units


def user_has_function(*, user: User, function: Function, unit: LosUnit) -> bool:
    """Whether the user may act on ``unit`` for ``function`` (through a grant on it or above)."""
    return units_for(user=user, function=function).filter(pk=unit.pk).exists()
