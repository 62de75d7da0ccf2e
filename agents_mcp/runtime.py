"""Process policies of a long-running server: big buffers go back to the system, short GIL turns.

`tune_process()` (called by `serve` and `test` in cli.py) applies both.

Short GIL turns: the SQLite store works in a worker thread (stores/sqlite.py). When the event
loop's thread wants the GIL back from it, CPython makes it wait up to the switch interval (5 ms
by default); with 100 simulations checkpointing at once that delayed their progress notifications
(bench/bench_progress.py, 100 at once, first frame after 1 s: p99 12-28 -> 9-15 ms at 0.5 ms).

Big buffers (glibc only):

glibc gives an allocation above its mmap threshold (128 KiB at start) its own mapping, returned
to the system on free. But each time such a mapping is freed, glibc raises the threshold to its
size (up to 32 MiB): after the first big answer, the next ones (an agent-testing invocation of
1,000 runs is 16 MB of JSON, read in chunks, joined, parsed) come from the heap, whose high-water
mark the process then keeps. Fixing the threshold (`mallopt(M_MMAP_THRESHOLD)`, which also turns
the raising off) keeps big buffers in their own mappings. Measured with
bench/bench_suite_scale.py: peak RSS 243 -> 215 MB for one suite of 1,000 runs.

Elsewhere (musl, macOS, Windows) nothing is done. Costs about 1 ms (ctypes), once.
"""

from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value
SWITCH_INTERVAL_SECONDS = 0.0005


def tune_process() -> None:
    """Short GIL turns, and big buffers returned when freed."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    return_big_buffers()


def return_big_buffers() -> bool:
    """Fix glibc's mmap threshold; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
