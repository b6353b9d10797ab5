"""Batches and payments under /api/v1/ (payments.batch_api): the payment systems' view of their
batches, and the caseworkers' payment search and stop."""

from django.urls import path

from payments import batch_api

urlpatterns = [
    path("batches/<str:batch_id>", batch_api.BatchDetailApi.as_view(), name="payments-batch"),
    path(
        "batches/<str:batch_id>/payments",
        batch_api.BatchPaymentsApi.as_view(),
        name="payments-batch-payments",
    ),
    path(
        "batches/<str:batch_id>/payments/<path:reference>/history",
        batch_api.BatchPaymentHistoryApi.as_view(),
        name="payments-batch-payment-history",
    ),
    path(
        "batches/<str:batch_id>/return-answers.xml",
        batch_api.ReturnAnswersApi.as_view(),
        name="payments-batch-return-answers",
    ),
    path(
        "batches/<str:batch_id>/stop",
        batch_api.BatchStopApi.as_view(),
        name="payments-batch-stop",
    ),
    path("payments", batch_api.PaymentSearchApi.as_view(), name="payments-caseworker-search"),
    path("payments/stop", batch_api.PaymentsStopApi.as_view(), name="payments-caseworker-stop"),
    path(
        "payments/<int:payment_id>",
        batch_api.PaymentDetailApi.as_view(),
        name="payments-caseworker-payment",
    ),
]
