"""Benchmarks: measured and printed, never timed assertions; skipped unless --run-benchmarks.

DATABASE_URL=... pytest tests/benchmarks --run-benchmarks -s
"""

import pytest

from tests.benchmarks.peak_memory import peak_reset


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "benchmark: a measurement; runs only with --run-benchmarks (root conftest)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-benchmarks"):
        return
    skip = pytest.mark.skip(reason="benchmark: run with --run-benchmarks")
    for item in items:
        if item.get_closest_marker("benchmark"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _peak_memory_of_this_benchmark() -> None:
    """Each benchmark's peak memory is its own, not that of the one before it."""
    peak_reset()
