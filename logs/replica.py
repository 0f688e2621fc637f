"""Which database the heavy reads go to: the read replica when one is configured.

The Logs page, the Request Data preview and the export stream read logs that are already written
(seconds of replication lag do not matter to them), so they can move off the primary, which keeps
the writes, the export jobs' state and every count a service stores.
"""

from __future__ import annotations

from django.db import connections

REPLICA = "replica"


def read_database() -> str:
    """The alias of the database the log reads use: "replica" if DATABASE_REPLICA_URL is set."""
    return REPLICA if REPLICA in connections.settings else "default"
