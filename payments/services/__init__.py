"""Every write of the payments app (ARCHITECTURE.md section 2): agreements and set-up
(``agreements``), batches and payments (``batches``)."""

from payments.services.agreements import (
    agreement_advance,
    agreement_failure_choice_change,
    agreement_go_live_change,
    agreement_request,
    bank_agreement_create,
    bank_agreement_update,
    benefit_create,
    benefit_update,
    payment_system_create,
    readiness_confirm,
    readiness_withdraw,
)

__all__ = [
    "agreement_advance",
    "agreement_failure_choice_change",
    "agreement_go_live_change",
    "agreement_request",
    "bank_agreement_create",
    "bank_agreement_update",
    "benefit_create",
    "benefit_update",
    "payment_system_create",
    "readiness_confirm",
    "readiness_withdraw",
]
