"""Onboarding pages, under /tilslutning/ (namespace ``portal:onboarding``)."""

from django.urls import path

from portal.onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("", views.index, name="index"),
    path("anmodninger/ny/", views.request_new, name="request-new"),
    path("anmodninger/<int:request_id>/", views.request_detail, name="request"),
    path("anmodninger/<int:request_id>/ret/", views.request_correct, name="request-correct"),
    path(
        "anmodninger/<int:request_id>/tilslutningsanmodning.pdf",
        views.request_pdf,
        name="request-pdf",
    ),
    path("aftaler/", views.agreements, name="agreements"),
    path("brugere/ny/", views.user_request_new, name="user-request-new"),
    path("brugere/<int:request_id>/", views.user_request_detail, name="user-request"),
]
