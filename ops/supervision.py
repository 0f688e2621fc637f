"""Process supervision shared by `make serve` (ops) and `make run` (devstack): run a check every
half second until Ctrl-C/SIGTERM or the check says stop, then stop the child processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence

POLL_INTERVAL = 0.5


def run_until_signal(step: Callable[[], bool]) -> None:
    """Calls `step()` every half second until SIGINT/SIGTERM arrives or `step()` returns False."""
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and step():
        time.sleep(POLL_INTERVAL)


def stop_processes(
    named: Sequence[tuple[str, subprocess.Popen]], *, grace: float, warn: Callable[[str], None]
) -> None:
    """Terminates every live process (in the given order), waits up to `grace` seconds for each
    to finish what it is doing, and kills (and reaps) the ones that did not."""
    for _, process in named:
        if process.poll() is None:
            process.terminate()
    for name, process in named:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            warn(f"{name} did not stop in time; killing it")
            process.kill()
            process.wait()
