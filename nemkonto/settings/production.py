"""Production settings: no default secrets, HTTPS only, and a refusal to start when insecure.

Every value comes from the environment (see the README's configuration table). A missing or
insecure setting raises ImproperlyConfigured with a message that names the variable to set.
"""

from django.core.exceptions import ImproperlyConfigured

from nemkonto.settings.base import *  # noqa: F403
from nemkonto.settings.base import DATABASE_URL, database_from_url, env


def _refuse(message: str) -> None:
    raise ImproperlyConfigured(f"Production settings refuse to start: {message}")


SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    _refuse("DJANGO_SECRET_KEY is not set. Set it to a long random value (50+ characters).")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    _refuse("DJANGO_SECRET_KEY is too weak. Use at least 50 random characters.")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    _refuse("DJANGO_DEBUG is on. Debug pages leak settings and personal data; turn it off.")

if not DATABASE_URL:
    _refuse("DATABASE_URL is not set. Production never uses the embedded PostgreSQL.")
DATABASES = {"default": database_from_url(DATABASE_URL)}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    _refuse("CELERY_BROKER_URL is not set (for example amqp://user:password@rabbitmq:5672//).")

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
NEMKONTO_LOOKUP_HASH_KEY = env("NEMKONTO_LOOKUP_HASH_KEY", default="")
if len(NEMKONTO_LOOKUP_HASH_KEY) < 32:
    _refuse("NEMKONTO_LOOKUP_HASH_KEY must be set to 32+ random characters (it keys CPR hashes).")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and container health checks probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_HTTPONLY = True
# Lax, not Strict: the OpenID Connect provider sends the browser back with a top-level GET that
# must carry the session. The CSRF cookie stays readable by JavaScript (the API's X-CSRFToken).
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not (SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE):
    _refuse("session and CSRF cookies must be secure (HTTPS only); do not turn them off.")
if not SECURE_SSL_REDIRECT:
    _refuse("DJANGO_SECURE_SSL_REDIRECT is off; every request must be redirected to HTTPS.")
if SECURE_HSTS_SECONDS < 31_536_000:
    _refuse("DJANGO_SECURE_HSTS_SECONDS must be at least one year (31536000).")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
