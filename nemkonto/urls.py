from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from nemkonto import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/worker", views.worker_ping_create, name="worker-ping"),
    path("healthz/worker/<uuid:ping_id>", views.worker_ping_detail, name="worker-ping-detail"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("nemkonto.api_urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]

urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
    prefix_default_language=False,
)
