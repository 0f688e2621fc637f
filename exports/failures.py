"""A failed export's reason in plain words for the page; the technical text stays in `error`.

The worker stores what went wrong as it happened (`runtime.describe_failure`, RQ's timeout
message); people on the page are told what it means for them and what to do. The admin shows
the stored text unchanged.
"""

from __future__ import annotations

import re

TRY_AGAIN = "Press Start Again; if it fails again, ask your admin."

# (pattern on the stored error, plain reason). The first that matches wins.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"JobTimeoutException|exceeded maximum timeout|EXPORTS_JOB_TIMEOUT", re.I),
     "It took longer than one export may run. Export fewer logs (a shorter time range or a "
     "lower maximum)."),
    (re.compile(r"^Could not write the export file", re.I),
     "The file could not be saved in the export storage. " + TRY_AGAIN),
    (re.compile(r"worker|lease|abandoned|died|lost", re.I),
     "The worker running it stopped before it finished. " + TRY_AGAIN),
    (re.compile(r"OperationalError|InterfaceError|database|connection", re.I),
     "The logs could not be read from the database. " + TRY_AGAIN),
)
GENERIC = "Something went wrong while writing the file. " + TRY_AGAIN


def plain_failure_reason(error: str) -> str:
    """What the page says about a failed export, whatever technical text it failed with."""
    text = (error or "").strip()
    for pattern, reason in _REASONS:
        if pattern.search(text):
            return reason
    return GENERIC
