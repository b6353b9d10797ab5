"""Development and test settings: the default when DJANGO_SETTINGS_MODULE is not set.

Nothing needs configuring: without DATABASE_URL the embedded PostgreSQL is started on demand, and
without CELERY_BROKER_URL the broker is Kombu's filesystem transport (see the README).
"""

from nemkonto import embedded_db
from nemkonto.settings.base import *  # noqa: F403
from nemkonto.settings.base import (
    CELERY_BROKER_FOLDER,
    CELERY_BROKER_URL,
    DATABASE_URL,
    STATIC_ROOT,
    database_from_url,
    database_settings,
    env,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A development-only key: production.py refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")

NEMKONTO_DEMO_DATA_ALLOWED = True

# WhiteNoise serves from the app folders in development but warns when STATIC_ROOT is missing.
STATIC_ROOT.mkdir(exist_ok=True)

if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    # The backend starts the embedded server on the first connection and fills in HOST.
    DATABASES = {
        "default": {
            **database_settings({"NAME": embedded_db.DATABASE_NAME, "USER": embedded_db.SUPERUSER}),
            "ENGINE": "nemkonto.embedded_backend",
        }
    }

if not CELERY_BROKER_URL:
    # A broker without a server: messages are files in var/broker, which a worker in another
    # process picks up. Good for one machine; use RabbitMQ (or Redis) beyond that.
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
        # Kombu's default looks once a second: a batch would wait up to a second for the worker.
        "polling_interval": 0.1,
    }
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)

# Callback URLs (payments.callbacks) may be plain http and point at this machine (a receiver on
# localhost during development); production keeps the base default: https to public hosts only.
NEMKONTO_CALLBACK_ALLOW_HTTP = True
