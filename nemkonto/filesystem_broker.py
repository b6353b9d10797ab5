"""Kombu's filesystem broker with atomic message files.

Kombu writes a message by creating its ``.msg`` file and then writing into it; a worker that
lists the folder in between (or after the sender was killed) moves away an empty or partial file
and dies on it (``Unrecoverable error: JSONDecodeError``). Here a message is written under a
name the readers ignore and renamed into place, so a reader sees a whole message or none.

``nemkonto.celery`` makes this the transport of every ``filesystem://`` broker URL.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Readers pick files named ``<time>_<uuid>.<queue>.msg``; this suffix keeps a file being written
# out of their sight.
_PARTIAL = ".partial"


class Channel(filesystem.Channel):
    # The signature of kombu's filesystem channel (its stubs disagree with the abstract one).
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + _PARTIAL
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
