from django.urls import include, path

from portal import oidc_views, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("om-nemkonto/", views.about, name="about"),
    path("log-ind/", oidc_views.login_page, name="login"),
    path("log-ind/svar/", oidc_views.login_callback, name="login-callback"),
    path("log-ind/mitid/", oidc_views.login_start, {"method": "mitid"}, name="login-mitid"),
    path(
        "log-ind/mitid-erhverv/",
        oidc_views.login_start,
        {"method": "mitid-erhverv"},
        name="login-mitid-erhverv",
    ),
    path("log-ud/", oidc_views.logout_view, name="logout"),
    path("", include("portal.citizen.urls")),  # /min-nemkonto/... and /aktiver/
    path("sagsbehandler/", include("portal.caseworker.urls")),
    path("betalinger/", include("portal.payments.urls")),
    path("administration/", include("portal.administration.urls")),
    path("tilslutning/", include("portal.onboarding.urls")),
    path("dokumenter/", include("portal.documents.urls")),
]
