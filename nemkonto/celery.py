"""The Celery application. Configuration lives in Django settings under the CELERY_ prefix."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# The filesystem broker of ``make run`` and the tests, with atomic message files.
TRANSPORT_ALIASES["filesystem"] = "nemkonto.filesystem_broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nemkonto.settings.local")

app = Celery("nemkonto")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
