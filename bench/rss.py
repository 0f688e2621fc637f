"""Peak resident memory of every process of an export run by real RQ workers.

An export in parts runs in several processes: the one that creates and starts it (the web
process in production; the benchmark itself here), each `rqworker`, and each work horse the
worker forks for a job (one per part; the horse of the last part also joins the file). Horses
call setpgrp(), so they are found as the workers' children (psutil), not by process group.

A thread samples the tree every INTERVAL seconds. For the workers and horses it reads the
kernel's own high-water mark (VmHWM: the peak RSS over the process's life, so a spike between
two samples is not missed; a horse has only to be seen once before it exits). The creator's
high-water mark would include whatever the benchmark did before the export, so its current RSS
is sampled instead, during the export only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from dataclasses import dataclass, field

import psutil

INTERVAL = 0.1
MB = 1024 * 1024


def high_water_mark(pid: int) -> int:
    """The process's peak RSS in bytes (VmHWM), 0 when it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


@dataclass
class RssPeaks:
    """Peak RSS in bytes by role; `horses` counts the distinct horses seen."""

    creator: int = 0
    worker: int = 0
    horse: int = 0
    join: int = 0
    horses: set[int] = field(default_factory=set)

    def peak(self) -> int:
        return max(self.creator, self.worker, self.horse, self.join)

    def describe(self) -> str:
        return (f"creator {self.creator / MB:.0f} MB, worker {self.worker / MB:.0f} MB, "
                f"horse {self.horse / MB:.0f} MB ({len(self.horses)} horses), "
                f"join horse {self.join / MB:.0f} MB")


class RssSampler:
    """Samples the creator (this process), the worker processes `worker_pids` and all of their
    descendants until stopped. Set `joining` once the export's join has been claimed: the horses
    seen from then on are counted as the join's (the horse that wrote the last part joins)."""

    def __init__(self, worker_pids: list[int]):
        self.worker_pids = list(worker_pids)
        self.peaks = RssPeaks()
        self.joining = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._me = psutil.Process(os.getpid())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the last word: high-water marks of whatever is still alive

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def sample(self) -> None:
        peaks = self.peaks
        with contextlib.suppress(psutil.Error):
            peaks.creator = max(peaks.creator, self._me.memory_info().rss)
        for pid in self.worker_pids:
            peaks.worker = max(peaks.worker, high_water_mark(pid))
            try:
                horses = psutil.Process(pid).children(recursive=True)
            except psutil.Error:
                continue
            for horse in horses:
                mark = high_water_mark(horse.pid)
                peaks.horses.add(horse.pid)
                if self.joining:
                    peaks.join = max(peaks.join, mark)
                else:
                    peaks.horse = max(peaks.horse, mark)


def stop_workers(workers: list) -> None:
    """Stops the worker processes (subprocess.Popen) and any horse they leave behind: a horse is
    listed before its worker goes (it is reparented after), and killed only if it is still
    that same process (psutil checks its start time). Never by name."""
    left = []
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            left += psutil.Process(worker.pid).children(recursive=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    for horse in left:
        try:
            if horse.is_running():
                horse.kill()
        except psutil.Error:
            pass
