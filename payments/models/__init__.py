"""The payments app's models: agreements and organisation (``agreements``), the pipeline's
tables (``pipeline``), callbacks, held duplicates (``holds``), bank reconciliation
(``reconciliation``) and the missing-account webhook (``missing_accounts``)."""

from payments.models.agreements import (
    BANK_AGREEMENT_NUMBER_VALIDATOR,
    CODE_VALIDATOR,
    BankAgreement,
    BankClosure,
    Benefit,
    ConnectionAgreement,
    DisbursementAccount,
    PaymentSystem,
    Readiness,
    ReadinessConfirmation,
    ReadinessItemCode,
    error_account_normalise,
    validation_error_from,
)
from payments.models.callbacks import CallbackDelivery
from payments.models.holds import PaymentHold
from payments.models.missing_accounts import MissingAccountAlert, MissingAccountSubscription
from payments.models.pipeline import (
    FINAL_STATUSES,
    STOPPABLE_STATUSES,
    TRANSITIONS,
    AccountSource,
    BankFile,
    BankMessage,
    Batch,
    BatchFormat,
    FailureHandling,
    Payment,
    PaymentStatus,
)
from payments.models.reconciliation import BankDifference

__all__ = [
    "BANK_AGREEMENT_NUMBER_VALIDATOR",
    "CODE_VALIDATOR",
    "FINAL_STATUSES",
    "STOPPABLE_STATUSES",
    "TRANSITIONS",
    "AccountSource",
    "BankAgreement",
    "BankClosure",
    "BankDifference",
    "BankFile",
    "BankMessage",
    "Batch",
    "BatchFormat",
    "Benefit",
    "CallbackDelivery",
    "ConnectionAgreement",
    "DisbursementAccount",
    "FailureHandling",
    "MissingAccountAlert",
    "MissingAccountSubscription",
    "Payment",
    "PaymentHold",
    "PaymentStatus",
    "PaymentSystem",
    "Readiness",
    "ReadinessConfirmation",
    "ReadinessItemCode",
    "error_account_normalise",
    "validation_error_from",
]
