"""Test settings (pytest's default): local settings with a fast password hasher."""

from nemkonto.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
