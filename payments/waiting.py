"""The waiting account (*ventekonto*, the 2025 NemKonto law): what the recipient is told.

When the connection agreement's failure choice is ``waiting``, a payment whose recipient has
neither a NemKonto nor a specific account for the benefit waits (status ``waiting``, return code
7, ``failure_handling`` ``waiting``) instead of failing. The pipeline moves it on
(``payments.pipeline``): ``waiting_release`` attaches the waiting payments whose recipient has an
account now (run when the registry reports a new account, and by every cut-off cycle before it
claims, so the payment leaves in the first cycle after the registration, and only once: each
step is guarded by the status it expects); ``waiting_expire`` gives the payments that waited
longer than ``NEMKONTO_WAITING_DAYS`` the agreement's ``waiting_fallback`` (return, cheque or
error account), daily by beat (``payments.tasks.waiting_expire``).

This module writes the recipient's notices (through the registry's notice outbox, set-based): one
when a payment starts waiting (register an account), one when it is released (on its way). Test
payments (an agreement in test, ``payments.test_script``) never cause a notice.
"""

from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Authority
from payments.models import Benefit, Payment
from registry.models import Notice
from registry.services.notices import notices_queue_select

PAYMENT = Payment._meta.db_table
AUTHORITY = Authority._meta.db_table
BENEFIT = Benefit._meta.db_table

# The payments' fields the notices name, as text (amounts in Danish notation: 1234,50).
_ROWS = f"""
    SELECT p.recipient_id, a.name AS authority, coalesce(b.name, p.benefit_code) AS benefit,
           (p.amount_ore / 100)::text || ',' || lpad(mod(p.amount_ore, 100)::text, 2, '0')
               AS amount,
           '****' || right(coalesce(nullif(p.number, ''), p.iban), 4) AS account,
           to_char(p.value_date, 'DD.MM.YYYY') AS value_date
    FROM {PAYMENT} p
    JOIN {AUTHORITY} a ON a.id = p.authority_id
    LEFT JOIN {BENEFIT} b ON b.id = p.benefit_id
    WHERE p.recipient_id IS NOT NULL AND NOT p.is_test AND {{where}}
"""  # noqa: S608 - table names from model metadata
_COLUMNS = ("authority", "benefit", "amount", "account", "value_date")


def _placeholders() -> dict[str, str]:
    return {column: "{" + column + "}" for column in _COLUMNS}


def waiting_notices(cursor: Any, *, where: str, params: dict[str, Any]) -> list[int]:
    """Tell each recipient of the payments ``where`` selects that a payment waits for them."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("A payment is waiting for your NemKonto")
        paragraph = _(
            "%(authority)s wants to pay you DKK %(amount)s (%(benefit)s), but you have no "
            "NemKonto. The payment waits for up to %(days)s days: register a NemKonto on the "
            "NemKonto portal or through your bank, and it is paid to you automatically."
        ) % {**_placeholders(), "days": settings.NEMKONTO_WAITING_DAYS}
    return notices_queue_select(
        cursor=cursor,
        kind=Notice.Kind.PAYMENT_WAITING,
        rows_sql=_ROWS.format(where=where),
        params=params,
        subject=subject,
        paragraph=paragraph,
        columns=_COLUMNS,
    )


def released_notices(cursor: Any, *, payment_ids: list[int]) -> list[int]:
    """Tell each recipient of these released payments that the money is on its way."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("A payment that was waiting is on its way")
        paragraph = (
            _(
                "The payment of DKK %(amount)s from %(authority)s (%(benefit)s), which was waiting "
                "for your account, is now on its way to the account %(account)s. It is expected "
                "on your account on %(value_date)s."
            )
            % _placeholders()
        )
    return notices_queue_select(
        cursor=cursor,
        kind=Notice.Kind.PAYMENT_RELEASED,
        rows_sql=_ROWS.format(where="p.id = ANY(%(released)s)"),
        params={"released": payment_ids},
        subject=subject,
        paragraph=paragraph,
        columns=_COLUMNS,
    )
