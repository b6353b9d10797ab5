"""Reads for the caseworker pages, scoped to the logged-in caseworker."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Grant, User
from nemkonto.errors import NotFound
from registry.models import ActivationLetter, NemKonto, Recipient


def own_grants(*, user: User) -> QuerySet[Grant]:
    """The user's role profiles and the LOS units they hold them on, by profile and unit."""
    return (
        Grant.objects.filter(user=user)
        .select_related("role_profile", "unit")
        .order_by("role_profile__name", "unit__path")
    )


def letter_for_author(*, actor: User, letter_id: int) -> ActivationLetter:
    """An activation letter the caseworker may print: only for a change they registered
    themselves, and only while it waits for its code (the letter is the code's only copy).
    NotFound for any other letter, so its number reveals nothing."""
    letter = (
        ActivationLetter.objects.select_related("nemkonto", "nemkonto__recipient")
        .filter(
            pk=letter_id,
            nemkonto__actor=actor,
            nemkonto__state=NemKonto.State.PENDING,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if letter is None:
        raise NotFound(_("There is no such letter."), code="not_found")
    return letter


def recipients_by_pk(pks: list[int]) -> dict[int, Recipient]:
    """The register entries with these primary keys (one query)."""
    return Recipient.objects.in_bulk(pks)
