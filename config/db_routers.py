"""The database router for a read replica (DATABASE_REPLICA_URL).

The replica is read-only and a copy of the primary: nothing is migrated or written there, and an
object read from it may be related to one from the primary. Reads go to the primary unless a
query asks for the replica by name (`logs.replica.read_database()`), so a request that writes and
then reads never sees its own write missing because of replication lag.
"""

from __future__ import annotations

from logs.replica import REPLICA


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return None  # the primary ("default"), unless the query names the replica

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows the primary's schema by replication
