from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from oauth2_provider import views as oauth2_views

from nemkonto import views

# Only the client-credentials endpoints of django-oauth-toolkit: no authorize, device or
# application-registration views.
oauth2_urls = (
    [
        path("token/", oauth2_views.TokenView.as_view(), name="token"),
        path("revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="revoke-token"),
        path("introspect/", oauth2_views.IntrospectTokenView.as_view(), name="introspect"),
    ],
    "oauth2_provider",
)

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/worker", views.worker_ping_create, name="worker-ping"),
    path("healthz/worker/<uuid:ping_id>", views.worker_ping_detail, name="worker-ping-detail"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("nemkonto.api_urls")),
    path("o/", include(oauth2_urls)),
]

urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
    prefix_default_language=False,
)

# Under /api/ and /o/ these answer problem documents (nemkonto.error_views).
handler400 = "nemkonto.error_views.bad_request"
handler403 = "nemkonto.error_views.permission_denied"
handler404 = "nemkonto.error_views.page_not_found"
handler500 = "nemkonto.error_views.server_error"
