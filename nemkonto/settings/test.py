"""Test settings (pytest's default): local settings with a fast password hasher."""

from nemkonto.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The callback tests run a plain-http receiver on 127.0.0.1 (the production rule has its own test).
NEMKONTO_CALLBACK_ALLOW_HTTP = True

# The duplicate guard is tested on its own (payments/tests/test_duplicates.py, and end to end with
# NEMKONTO_DUPLICATE_WINDOW_DAYS in the environment); elsewhere tests send the same payment in
# several batches on purpose.
NEMKONTO_DUPLICATE_WINDOW_DAYS = env.int("NEMKONTO_DUPLICATE_WINDOW_DAYS", default=0)  # noqa: F405
