"""Who may open the citizen and business pages.

Only a citizen's or a business's own login (``User.kind``, with the recipient ID from MitID)
sees them; for anyone else they do not exist (404, as portal/access.py does for caseworkers).
The change pages are the citizen's: a business is told, with a 403 page, that its bank and the
paying authority make its changes (DOMAIN.md sections 4 and 5). Both decorators hand the view the
recipient the login acts as, found by the same rules the services apply.
"""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from nemkonto.errors import NotFound, PermissionDenied
from registry.models import Recipient
from registry.services.common import own_recipient, require_citizen

P = ParamSpec("P")
RecipientView = Callable[Concatenate[HttpRequest, Recipient, P], HttpResponse]
View = Callable[Concatenate[HttpRequest, P], HttpResponse]

RECIPIENT_KINDS = (User.Kind.CITIZEN, User.Kind.BUSINESS)


def is_recipient_login(user: object) -> bool:
    """A citizen's or a business's own login (the pages of this package are theirs)."""
    return isinstance(user, User) and user.is_active and user.kind in RECIPIENT_KINDS


def _guarded(
    find: Callable[[User], Recipient],
) -> Callable[[RecipientView[P]], View[P]]:
    def decorator(view: RecipientView[P]) -> View[P]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            user = request.user
            if not is_recipient_login(user):
                raise Http404
            assert isinstance(user, User)
            try:
                recipient = find(user)
            except NotFound as error:
                return refusal(request, str(error), status=404)
            except PermissionDenied as error:
                return refusal(request, str(error), status=403)
            return view(request, recipient, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def refusal(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """The page that says why the user cannot do this here (and where they can)."""
    return render(request, "portal/citizen/refused.html", {"message": message}, status=status)


# Pages that citizens and businesses both see (businesses read only).
recipient_required = _guarded(own_recipient)
# Pages that change accounts: citizens only.
citizen_required = _guarded(require_citizen)
