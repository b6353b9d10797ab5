"""Who may open which portal page: role profiles on LOS units decide, and a page a user may not
use does not exist for them (404), so its address reveals nothing."""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from accounts.functions import Function
from accounts.models import LosUnitUserObjectPermission, User
from accounts.selectors import units_for
from registry.services.common import is_employee

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def has_function(user: object, function: Function) -> bool:
    """Whether the user is an active employee with ``function`` on at least one LOS unit."""
    return (
        isinstance(user, User)
        and is_employee(user)
        and units_for(user=user, function=function).exists()
    )


def functions_of(user: object) -> set[Function]:
    """The functions the user holds on at least one unit (what the portal shows them), in one
    query: a grant on a unit of the user's own authority gives its functions on that unit."""
    if not (isinstance(user, User) and is_employee(user)):
        return set()
    codenames = (
        LosUnitUserObjectPermission.objects.filter(
            user=user, content_object__authority=user.authority
        )
        .values_list("permission__codename", flat=True)
        .distinct()
    )
    return {Function(codename) for codename in codenames if codename in Function.values}


def function_required(*functions: Function) -> Callable[[View[P]], View[P]]:
    """Log-in required; then 404 unless the user holds one of ``functions`` on some unit."""

    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not any(has_function(request.user, function) for function in functions):
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
