"""Reads scoped to the actor. The unit scope is the root of every permission check."""

from typing import Any

from django.apps import apps
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import BigIntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from accounts.functions import Function
from accounts.models import (
    AuditEvent,
    Grant,
    LosUnit,
    LosUnitUserObjectPermission,
    RoleProfile,
    User,
)
from nemkonto.errors import NotFound

# Units below a granted unit: its path is a prefix of theirs. Written as a byte-order range
# (g.path <= u.path < g.path || '~'; paths hold only digits and slashes, all below '~') so the
# text_pattern_ops index on path serves it, driven from the user's few permission rows. The
# granted unit's path is a scalar subquery (one primary-key probe per grant) rather than a join,
# which the planner would answer by scanning the whole tree.
_SCOPE_SQL = """
    SELECT unit.id
    FROM (
        SELECT (SELECT top.path FROM {unit} AS top WHERE top.id = granted.content_object_id)
               AS path
        FROM {perm} AS granted
        WHERE granted.user_id = %s AND granted.permission_id = (
            SELECT p.id FROM {permission} p JOIN django_content_type ct ON ct.id = p.content_type_id
            WHERE ct.app_label = 'accounts' AND ct.model = 'losunit' AND p.codename = %s
        )
    ) AS top
    JOIN {unit} AS unit ON unit.path ~>=~ top.path AND unit.path ~<~ (top.path || '~')
"""
SCOPE_SQL = _SCOPE_SQL.format(
    perm=LosUnitUserObjectPermission._meta.db_table,
    unit=LosUnit._meta.db_table,
    permission=Permission._meta.db_table,
)


def units_for(*, user: User, function: Function) -> QuerySet[LosUnit]:
    """The LOS units the user may act on for ``function``: every unit granted, and all below.

    One SQL statement, usable as a subquery (``Payment.objects.filter(unit__in=...)``); unordered
    (add ``order_by("path")`` to show a tree).
    """
    if not user.is_authenticated or not user.is_active:
        return LosUnit.objects.none()
    # unnest(ARRAY(...)) makes the planner run the scope once and fetch the units by primary key,
    # instead of scanning every unit of the tree to hash-join the scope (measured: 6 ms -> 2 ms).
    scope = RawSQL(f"SELECT unnest(ARRAY({SCOPE_SQL}))", (user.pk, function.value))  # noqa: S611
    units = LosUnit.objects.filter(pk__in=scope).order_by()
    if user.authority_id is not None:
        # A user acts only inside their own authority, whatever rows may exist.
        units = units.filter(authority_id=user.authority_id)
    return units


def user_has_function(*, user: User, function: Function, unit: LosUnit) -> bool:
    """Whether the user may act on ``unit`` for ``function`` (through a grant on it or above)."""
    return units_for(user=user, function=function).filter(pk=unit.pk).exists()


# --- Who administers what -----------------------------------------------------------------------


def is_operator(user: User | AnonymousUser | None) -> bool:
    """Whether the user is active staff of the NemKonto service (an operator or a superuser)."""
    return isinstance(user, User) and user.is_operator


def admin_units(*, actor: User) -> QuerySet[LosUnit]:
    """The units the actor administers: every unit for operators, else the local-admin scope."""
    if is_operator(actor):
        return LosUnit.objects.all()
    return units_for(user=actor, function=Function.LOCAL_ADMINISTRATION)


def is_local_administrator(user: User | AnonymousUser | None) -> bool:
    """Whether the user may use the local administration at all (on at least one unit)."""
    if not isinstance(user, User) or not user.is_active:
        return False
    return is_operator(user) or admin_units(actor=user).exists()


# --- LOS units ----------------------------------------------------------------------------------


def unit_tree(*, actor: User) -> QuerySet[LosUnit]:
    """The units the actor administers, in tree order (by materialised path)."""
    return admin_units(actor=actor).select_related("authority").order_by("path")


def unit_get(*, actor: User, unit_id: int) -> LosUnit:
    """One unit the actor administers; raises NotFound if it is missing or not theirs."""
    unit = unit_tree(actor=actor).filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("LOS unit not found."), code="not_found")
    return unit


def los_unit_history(*, actor: User, unit_id: int) -> QuerySet[Any]:
    """The unit's recorded versions (insert, moves, renames, closing), oldest first.

    Raises NotFound if the unit is missing or not administered by the actor.
    """
    unit = unit_get(actor=actor, unit_id=unit_id)
    event_model = apps.get_model("accounts", "LosUnitEvent")
    return event_model.objects.filter(pgh_obj_id=unit.pk).order_by("pgh_id")


# --- Employees and grants -----------------------------------------------------------------------


def employee_list(*, actor: User, search: str | None = None) -> QuerySet[User]:
    """Employees the actor administers: all for operators, else those of the actor's authority.

    A local administrator (on any unit of the authority) sees the authority's employees, active
    or not, so that they can grant, deactivate and reactivate them. One statement.
    """
    users = User.objects.filter(kind=User.Kind.EMPLOYEE).select_related("authority")
    if not is_operator(actor):
        users = users.filter(authority_id__in=admin_units(actor=actor).values("authority_id"))
    if search:
        words = search.split()
        for word in words:
            users = users.filter(
                Q(username__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
    return users.order_by("username")


def employee_get(*, actor: User, user_id: int) -> User:
    """One employee the actor administers; raises NotFound if missing or not theirs."""
    user = employee_list(actor=actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("User not found."), code="not_found")
    return user


def grant_list(
    *, actor: User, user_id: int | None = None, unit_id: int | None = None
) -> QuerySet[Grant]:
    """Grants on units the actor administers (a grant on a unit outside the scope is not shown)."""
    grants = Grant.objects.select_related("user", "role_profile", "unit", "granted_by")
    if not is_operator(actor):
        grants = grants.filter(unit__in=admin_units(actor=actor))
    if user_id is not None:
        grants = grants.filter(user_id=user_id)
    if unit_id is not None:
        grants = grants.filter(unit_id=unit_id)
    return grants.order_by("-id")


def grant_get(*, actor: User, grant_id: int) -> Grant:
    """One grant on a unit the actor administers; raises NotFound if missing or not theirs."""
    found = grant_list(actor=actor).filter(pk=grant_id).first()
    if found is None:
        raise NotFound(_("Grant not found."), code="not_found")
    return found


def role_profile_list(*, actor: User) -> QuerySet[RoleProfile]:
    """The role profiles a local administrator can grant (all of them), with their functions."""
    if not is_local_administrator(actor):
        return RoleProfile.objects.none()
    return RoleProfile.objects.prefetch_related("functions").order_by("name")


# --- Audit trail --------------------------------------------------------------------------------


def audit_event_list(
    *,
    actor: User,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events the actor may read, newest first.

    Operators read everything. A local administrator reads the events of their own authority,
    except those about a unit outside their scope (events name their unit in ``data.unit``).
    """
    events = AuditEvent.objects.all()
    if not is_operator(actor):
        scope = admin_units(actor=actor)
        events = (
            events.filter(authority_id__in=scope.values("authority_id"))
            .annotate(unit_ref=Cast(KT("data__unit"), BigIntegerField()))
            .filter(Q(unit_ref__isnull=True) | Q(unit_ref__in=scope.values("pk")))
        )
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events.order_by("-id")
