-- LayerChop database schema for PostgreSQL (15 or newer), part 0 of 3: shared tables.
--
-- Safe to apply again: every statement creates only what is missing or replaces a query text.
-- `layerchop db init` and the silo apply all parts in order inside one transaction that holds an
-- advisory lock, so concurrent appliers queue up. By hand: psql -v ON_ERROR_STOP=1 -1 -f each part.
--
-- Orleans' ADO.NET providers look up their SQL by key in the table OrleansQuery (the only name they know;
-- created unquoted so PostgreSQL folds it to orleansquery, which is where the providers look). Every
-- other table below is LayerChop's own.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  text NOT NULL PRIMARY KEY,
    QueryText text NOT NULL
);

-- One row per schema part with the version of LayerChop's scripts that last applied it.
CREATE TABLE IF NOT EXISTS layerchop_schema
(
    component  text        NOT NULL PRIMARY KEY,
    version    integer     NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
