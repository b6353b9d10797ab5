"""Every write of the registry (ARCHITECTURE.md section 2), split by topic.

Each service is atomic, keyword-only, checks the actor's permission itself, writes its audit
record and its notices in the same transaction, and sends the notices after the commit.
"""

from registry.services.activation import (
    CaseworkerChange,
    activation_activate,
    activation_activate_own,
    activation_codes_expire,
    nemkonto_change_by_caseworker,
)
from registry.services.letters import letters_mark
from registry.services.lookups import cpr_hash, lookup_log_write, lookup_log_write_many
from registry.services.nemkonto import (
    NemKontoChange,
    nemkonto_delete,
    nemkonto_report_by_bank,
    nemkonto_review,
    nemkonto_set,
)
from registry.services.notices import notices_deliver
from registry.services.specific import (
    specific_account_create,
    specific_account_delete,
    specific_account_update,
    specific_accounts_expire,
)

__all__ = [
    "CaseworkerChange",
    "NemKontoChange",
    "activation_activate",
    "activation_activate_own",
    "activation_codes_expire",
    "cpr_hash",
    "letters_mark",
    "lookup_log_write",
    "lookup_log_write_many",
    "nemkonto_change_by_caseworker",
    "nemkonto_delete",
    "nemkonto_report_by_bank",
    "nemkonto_review",
    "nemkonto_set",
    "notices_deliver",
    "specific_account_create",
    "specific_account_delete",
    "specific_account_update",
    "specific_accounts_expire",
]
