"""Payments endpoints under /api/v1/ (payments.api)."""

from django.urls import path

from payments import (
    api,
    bank_api,
    duplicate_api,
    intake_api,
    missing_accounts_api,
    reconciliation_api,
)

urlpatterns = [
    path("batches", intake_api.BatchSubmitApi.as_view(), name="batch-submit"),
    path(
        "batches/<str:batch_id>/duplicates",
        duplicate_api.BatchDuplicatesApi.as_view(),
        name="payments-batch-duplicates",
    ),
    path(
        "payments/duplicates",
        duplicate_api.PaymentDuplicatesApi.as_view(),
        name="payments-caseworker-duplicates",
    ),
    path(
        "missing-accounts",
        missing_accounts_api.MissingAccountsApi.as_view(),
        name="payments-missing-accounts",
    ),
    path(
        "missing-accounts/subscription",
        missing_accounts_api.MissingAccountsSubscriptionApi.as_view(),
        name="payments-missing-accounts-subscription",
    ),
    path(
        "reconciliation/differences",
        reconciliation_api.DifferencesApi.as_view(),
        name="payments-reconciliation-differences",
    ),
    path("bank/files", bank_api.BankFilesApi.as_view(), name="bank-files"),
    path("bank/files/<int:file_id>", bank_api.BankFileApi.as_view(), name="bank-file"),
    path("connection", api.ConnectionApi.as_view(), name="payments-connection"),
    path(
        "authorities/<slug:code>/benefits",
        api.BenefitCollectionApi.as_view(),
        name="payments-benefits",
    ),
    path(
        "authorities/<slug:code>/benefits/<str:benefit_code>",
        api.BenefitItemApi.as_view(),
        name="payments-benefit",
    ),
    path(
        "authorities/<slug:code>/agreements",
        api.AgreementListApi.as_view(),
        name="payments-agreements",
    ),
    path(
        "authorities/<slug:code>/agreements/<slug:system>",
        api.AgreementDetailApi.as_view(),
        name="payments-agreement",
    ),
    path(
        "authorities/<slug:code>/agreements/<slug:system>/failure-choice",
        api.AgreementFailureChoiceApi.as_view(),
        name="payments-agreement-failure-choice",
    ),
    path(
        "authorities/<slug:code>/agreements/<slug:system>/history",
        api.AgreementHistoryApi.as_view(),
        name="payments-agreement-history",
    ),
    path(
        "authorities/<slug:code>/readiness",
        api.ReadinessApi.as_view(),
        name="payments-readiness",
    ),
    path(
        "authorities/<slug:code>/readiness/<str:item>",
        api.ReadinessItemApi.as_view(),
        name="payments-readiness-item",
    ),
]
