"""One way to write a moment everywhere, the admin included: 2026-12-02 15:36:00 UTC (the app
keeps and shows every time in UTC, TIME_ZONE = "UTC")."""

from __future__ import annotations

DATETIME_FORMAT = r"Y-m-d H:i:s \U\T\C"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i:s"
