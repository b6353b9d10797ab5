"""What every administration page needs: the acting employee and the breadcrumbs."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Authority, User


def actor_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # portal.access.function_required let only employees through
    return user


def authority_of(actor: User) -> Authority:
    assert actor.authority is not None  # an employee always has one (a check constraint)
    return actor.authority


def crumbs(*trail: tuple[str, str]) -> list[tuple[str, str]]:
    """Front page > Administration > ``trail``; the last item is the current page."""
    return [
        (reverse("portal:home"), _("Front page")),
        (reverse("portal:administration:index"), _("Administration")),
        *trail,
    ]
