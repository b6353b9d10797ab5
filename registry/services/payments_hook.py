"""The registry's hook into the payment pipeline: after a change of recipients' accounts commits,
``payments.tasks.accounts_changed`` releases the payments waiting for an account that find one
now (the waiting account, ``payments.waiting``) and tells the missing-account subscribers
(``payments.missing_accounts``). Every channel that makes an account usable or unusable calls it:
``make_active`` (citizen, bank, caseworker after activation, operator's approval),
``nemkonto_delete``, the specific accounts' create, change, delete and expiry, and a bank's bulk
report. The cut-off cycle releases waiting payments too, so a lost hook delays nothing past the
next cycle.
"""

from collections.abc import Iterable

from django.db import transaction


def accounts_changed(recipient_ids: Iterable[int] | None) -> None:
    """Queue the payment pipeline's reaction after the commit; ``None``: too many recipients to
    name (a bulk report), the waiting payments are all looked at."""
    ids = None if recipient_ids is None else sorted(set(recipient_ids))

    def queue() -> None:
        # Imported here: the payments app imports the registry's models.
        from payments.tasks import accounts_changed as task

        task.delay(ids)

    transaction.on_commit(queue)
