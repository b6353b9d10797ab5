"""The callback registration endpoint under /api/v1/ (payments.callback_api)."""

from django.urls import path

from payments.callback_api import CallbackApi

urlpatterns = [path("callback", CallbackApi.as_view(), name="payments-callback")]
