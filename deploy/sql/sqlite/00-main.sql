-- LayerChop database schema for SQLite (embedded mode), part 0 of 1: shared tables.
--
-- Safe to apply again. `layerchop db init` and the embedded silo apply both parts in order inside one
-- BEGIN IMMEDIATE transaction, so concurrent appliers queue up. SQLite serves grain state only: the
-- embedded silo uses localhost clustering and has no durable reminders.
--
-- Orleans' ADO.NET grain persistence looks up its SQL by key in the table OrleansQuery.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- One row per schema part with the version of LayerChop's scripts that last applied it.
CREATE TABLE IF NOT EXISTS layerchop_schema
(
    component  TEXT    NOT NULL PRIMARY KEY,
    version    INTEGER NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);
