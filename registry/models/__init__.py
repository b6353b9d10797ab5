"""The registry's models, one module per topic (the register mirror; accounts and look-ups)."""

from registry.models.accounts import AccountKind, Channel, NemKonto, SpecificAccount, StoredAccount
from registry.models.activation import ActivationLetter
from registry.models.allowance import LookupAllowance
from registry.models.lookups import LookupLog
from registry.models.notices import Notice
from registry.models.register import Recipient

__all__ = [
    "AccountKind",
    "ActivationLetter",
    "Channel",
    "LookupAllowance",
    "LookupLog",
    "NemKonto",
    "Notice",
    "Recipient",
    "SpecificAccount",
    "StoredAccount",
]
from registry.models.bulk import BankBulkJob, BankBulkRow  # noqa: F401
