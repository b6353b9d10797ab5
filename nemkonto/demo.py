"""Demo data for ``make run`` and the demo commands: idempotent, so loading twice changes nothing.

Each domain app adds its part here as it grows (authorities, register, accounts, payments). The
demo logins use fixed passwords that are printed; the command refuses to run unless the settings
allow demo data (never in production).
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

OPERATOR_USERNAME = "operator"
OPERATOR_PASSWORD = "drift-demo-2026"  # noqa: S105 - a printed demo login, refused in production


class DemoDataNotAllowed(Exception):
    """Raised when the settings do not allow demo data."""


def _operator() -> dict[str, Any]:
    user_model = get_user_model()
    operator, created = user_model.objects.get_or_create(
        username=OPERATOR_USERNAME,
        defaults={
            "first_name": "Drift",
            "last_name": "Operatør",
            "email": "drift@nemkonto.example",
            "kind": "operator",
            "is_staff": True,
            "is_superuser": True,
        },
    )
    if created:
        operator.set_password(OPERATOR_PASSWORD)
        operator.save(update_fields=["password"])
    return {
        "username": OPERATOR_USERNAME,
        "password": OPERATOR_PASSWORD,
        "role": "operator",
        "login": "/admin/",
    }


def demo_data_load() -> dict[str, Any]:
    """Create the demo data if missing and describe it; raises DemoDataNotAllowed in production."""
    if not settings.NEMKONTO_DEMO_DATA_ALLOWED:
        raise DemoDataNotAllowed("Demo data is refused by these settings (production).")
    with transaction.atomic():
        return {"logins": [_operator()], "authorities": []}
