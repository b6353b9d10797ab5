"""The peak resident memory of this (pytest) process during one benchmark.

``getrusage``'s ``ru_maxrss`` is the peak over the whole process: after another benchmark in the
same pytest run (``make bench`` runs them all in one go) it would report that one's peak. Linux
resets the peak (VmHWM) to the present resident size when 5 is written to
``/proc/self/clear_refs``; the benchmarks' conftest does that before each benchmark, after handing
the memory the earlier ones freed back to the system (else the present size is theirs).
"""

import ctypes
import gc
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_reset() -> None:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


def peak_kib() -> int:
    """VmHWM of this process since the last ``peak_reset``, in KiB."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_mib() -> float:
    return peak_kib() / 1024
