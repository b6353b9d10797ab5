"""Test settings (pytest's default): local settings with a fast password hasher."""

from nemkonto.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The callback tests run a plain-http receiver on 127.0.0.1 (the production rule has its own test).
NEMKONTO_CALLBACK_ALLOW_HTTP = True
