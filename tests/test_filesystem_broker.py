"""The filesystem broker of ``make run``: a worker never reads a message that is still being
written, or one its sender was killed in the middle of writing."""

from pathlib import Path

import pytest
from kombu import Connection
from kombu.simple import SimpleQueue


def _connection(folder: Path) -> Connection:
    (folder / "control").mkdir(exist_ok=True)
    return Connection(
        "filesystem://localhost//",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
            "control_folder": str(folder / "control"),
        },
    )


def test_a_message_appears_whole_under_its_final_name(tmp_path: Path) -> None:
    import nemkonto.celery  # noqa: F401 - makes filesystem:// the atomic transport

    with _connection(tmp_path) as connection:
        assert type(connection.transport).__module__ == "nemkonto.filesystem_broker"
        queue: SimpleQueue = connection.SimpleQueue("whole")
        queue.put({"batch": 1})
        assert [path.suffix for path in tmp_path.glob("*.msg*")] == [".msg"]
        assert queue.get(timeout=1).payload == {"batch": 1}


def test_a_reader_polling_while_a_message_is_written_sees_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nemkonto.celery  # noqa: F401
    from nemkonto import filesystem_broker

    seen_while_writing: list[object] = []
    with _connection(tmp_path) as connection, connection.clone() as reader_connection:
        # A queue name of its own: Kombu remembers declared exchanges for the whole process.
        reader: SimpleQueue = reader_connection.SimpleQueue("polled")
        serialise = filesystem_broker.dumps

        def dumps_while_a_worker_polls(payload: object) -> str:
            # The file is open for writing now: a worker polling at this moment must find no
            # message (Kombu's own transport would hand it the empty file, and the worker died).
            try:
                seen_while_writing.append(reader.get(timeout=0.2).payload)
            except reader.Empty:
                seen_while_writing.append("nothing")
            return serialise(payload)

        monkeypatch.setattr(filesystem_broker, "dumps", dumps_while_a_worker_polls)
        connection.SimpleQueue("polled").put({"batch": 2})
        assert seen_while_writing == ["nothing"]
        assert reader.get(timeout=1).payload == {"batch": 2}
