"""The REST API under /api/v1/ (API.md): each domain app contributes its own ``api_urls``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("accounts.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("payments.callback_urls")),
    path("", include("payments.batch_api_urls")),
    path("", include("registry.api_urls")),
    path("", include("registry.bulk_urls")),
]
