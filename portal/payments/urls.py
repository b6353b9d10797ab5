"""The caseworker payment pages, under /betalinger/ (namespace ``portal:payments``)."""

from django.urls import path

from portal.payments import views

app_name = "payments"

urlpatterns = [
    path("", views.search, name="search"),
    path("<int:payment_id>/", views.detail, name="detail"),
    path("stop/", views.stop, name="stop"),
]
