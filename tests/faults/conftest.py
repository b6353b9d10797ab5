"""The fault tests (issue 8): real processes, a broker and, where a test restarts it, a database
server of their own. Marked ``faults``: ``make test-faults`` (``pytest -m faults``) runs only them.
"""

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Lock
from tests.faults.servers import PrivateRedis


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: a fault-tolerance test against real processes (make test-faults)"
    )


@pytest.fixture
def fault_seed() -> int:
    """The seed of the random choices; NEMKONTO_FAULTS_SEED=<seed> replays a run."""
    given = os.environ.get("NEMKONTO_FAULTS_SEED", "")
    seed = int(given) if given else random.SystemRandom().randrange(1 << 32)
    print(f"\nfault seed {seed} (replay with NEMKONTO_FAULTS_SEED={seed})")
    return seed


@pytest.fixture
def redis_broker(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own as the broker (the machine's servers are not touched)."""
    if not shutil.which("redis-server"):
        message = "needs redis-server on the PATH"
        if os.environ.get("NEMKONTO_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
def locks() -> Iterator[list[Lock]]:
    """The locks a test takes: released at its end even when it fails (before the test database
    is emptied, which would wait for them)."""
    taken: list[Lock] = []
    yield taken
    for lock in taken:
        lock.release()
