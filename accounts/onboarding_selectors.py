"""Reads for onboarding, scoped to the actor (ARCHITECTURE.md section 2).

Who may ask for what:

- a connection request binds the whole authority, so it is made by the authority's NemKonto
  coordinator (named by an operator) or by a local administrator (NKS-Lokal-Admin on a unit);
- a user request is for authorities without a local administrator of their own, so any
  employee of the authority may make one;
- each sees the requests of their own authority; operators see all of them in the admin.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.functions import Function
from accounts.models import Authority, ConnectionRequest, Coordinator, User, UserRequest
from accounts.selectors import units_for
from nemkonto.errors import NotFound

Actor = User | AnonymousUser | None


def _employee_of(user: Actor, authority: Authority) -> bool:
    return (
        isinstance(user, User)
        and user.is_active
        and user.kind == User.Kind.EMPLOYEE
        and user.authority_id == authority.pk
    )


def is_coordinator_of(*, user: Actor, authority: Authority) -> bool:
    """Whether the user is the authority's NemKonto coordinator."""
    return (
        isinstance(user, User)
        and _employee_of(user, authority)
        and Coordinator.objects.filter(user=user, authority=authority).exists()
    )


def can_request_connection(*, user: Actor, authority: Authority) -> bool:
    """The coordinator, and local administrators (on any unit) of the authority."""
    if not isinstance(user, User) or not _employee_of(user, authority):
        return False
    return (
        is_coordinator_of(user=user, authority=authority)
        or units_for(user=user, function=Function.LOCAL_ADMINISTRATION).exists()
    )


def can_request_users(*, user: Actor, authority: Authority) -> bool:
    """Every active employee of the authority."""
    return _employee_of(user, authority)


def connection_request_list(*, actor: Actor) -> QuerySet[ConnectionRequest]:
    """The requests of the actor's authority, newest first, if the actor may request."""
    if not isinstance(actor, User) or actor.authority is None:
        return ConnectionRequest.objects.none()
    if not can_request_connection(user=actor, authority=actor.authority):
        return ConnectionRequest.objects.none()
    return (
        ConnectionRequest.objects.filter(authority=actor.authority)
        .select_related("authority", "payment_system", "bank", "requested_by", "agreement")
        .prefetch_related("units")
    )


def connection_request_get(*, actor: Actor, request_id: int) -> ConnectionRequest:
    """One request of the actor's authority; NotFound for anything else."""
    found = connection_request_list(actor=actor).filter(pk=request_id).first()
    if found is None:
        raise NotFound(_("There is no such request."), code="not_found")
    return found


def user_request_list(*, actor: Actor) -> QuerySet[UserRequest]:
    """The user requests of the actor's authority, newest first."""
    if not isinstance(actor, User) or actor.authority is None:
        return UserRequest.objects.none()
    if not can_request_users(user=actor, authority=actor.authority):
        return UserRequest.objects.none()
    return (
        UserRequest.objects.filter(authority=actor.authority)
        .select_related("user", "requested_by")
        .prefetch_related("lines__role_profile", "lines__unit")
    )


def user_request_get(*, actor: Actor, request_id: int) -> UserRequest:
    found = user_request_list(actor=actor).filter(pk=request_id).first()
    if found is None:
        raise NotFound(_("There is no such request."), code="not_found")
    return found
