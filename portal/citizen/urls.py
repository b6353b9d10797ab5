"""The citizen and business pages, mounted at the portal's root: /min-nemkonto/... and the
activation page at /aktiver/, the address the activation letters' readers know."""

from django.urls import path

from portal.citizen import views

app_name = "citizen"

SPECIFIC = "min-nemkonto/specifikke-konti/<str:authority>/<str:benefit>"

urlpatterns = [
    path("min-nemkonto/", views.overview, name="overview"),
    path("min-nemkonto/skift/", views.nemkonto_change, name="nemkonto_change"),
    path("min-nemkonto/slet/", views.nemkonto_remove, name="nemkonto_delete"),
    path("min-nemkonto/specifikke-konti/", views.specific_accounts, name="specific_accounts"),
    path(f"{SPECIFIC}/skift/", views.specific_change, name="specific_change"),
    path(f"{SPECIFIC}/slet/", views.specific_remove, name="specific_delete"),
    path("min-nemkonto/indsigt/", views.activity, name="activity"),
    path("aktiver/", views.activate, name="activate"),
]
