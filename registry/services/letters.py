"""The print list of activation letters: operators mark letters printed and sent."""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import User
from accounts.selectors import is_operator
from nemkonto.errors import PermissionDenied, ValidationFailed
from registry.models import ActivationLetter

Status = ActivationLetter.Status


@transaction.atomic
def letters_mark(*, actor: User, letter_ids: Sequence[int], status: str) -> int:
    """Mark letters printed or sent (a sent letter stays sent); returns how many changed.

    Raises PermissionDenied (not an operator), ValidationFailed (unknown status).
    """
    if not is_operator(actor):
        raise PermissionDenied(
            _("Only operators of the NemKonto service handle the letters."), code="operator_only"
        )
    if status not in (Status.PRINTED, Status.SENT):
        raise ValidationFailed(
            _("The status must be printed or sent."), field="status", code="invalid_choice"
        )
    now = timezone.now()
    letters = ActivationLetter.objects.select_for_update().filter(pk__in=list(letter_ids))
    if status == Status.PRINTED:
        letters = letters.filter(status=Status.UNPRINTED)
    else:
        letters = letters.exclude(status=Status.SENT)
    changed = 0
    for letter in letters:
        letter.status = status
        if status == Status.PRINTED or letter.printed_at is None:
            letter.printed_at = now
        if status == Status.SENT:
            letter.sent_at = now
        letter.save(update_fields=["status", "printed_at", "sent_at"])
        audit_record(
            actor=actor,
            action=f"activation_letter.{status}",
            target=letter,
            data={"status": status},
        )
        changed += 1
    return changed
