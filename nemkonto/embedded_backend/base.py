"""PostgreSQL backend that starts the embedded server on first use (see nemkonto.embedded_db)."""

from typing import Any

from django.db.backends.postgresql import base

from nemkonto import embedded_db


class DatabaseWrapper(base.DatabaseWrapper):
    _socket_dir: str | None = None

    def get_connection_params(self) -> dict[str, Any]:
        # Only HOST is filled in: NAME may have been switched to the test database.
        if DatabaseWrapper._socket_dir is None:
            DatabaseWrapper._socket_dir = embedded_db.ensure_started()
        self.settings_dict["HOST"] = DatabaseWrapper._socket_dir
        return super().get_connection_params()
