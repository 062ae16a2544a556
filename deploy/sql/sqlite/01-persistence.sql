-- LayerChop database schema for SQLite, part 1 of 1: grain state (Orleans ADO.NET grain persistence).
--
-- Same rules as the PostgreSQL part (deploy/sql/postgres/02-persistence.sql): identity = service, state
-- name and grain key (NULL-safe on the key extension: SQLite's IS); ETag = integer version, 1 after the
-- first write, +1 after each write or clear; a stale version changes nothing and returns no row.
--
-- The write query is two statements, and SQLite commits each on its own. They cannot both act: the
-- update needs a version and the insert needs none, so each call runs exactly one of them, atomically.

CREATE TABLE IF NOT EXISTS layerchop_grain_state
(
    service_id      TEXT    NOT NULL,
    grain_type      TEXT    NOT NULL,
    grain_type_hash INTEGER NOT NULL,
    grain_id_hash   INTEGER NOT NULL,
    grain_id_n0     INTEGER NOT NULL,
    grain_id_n1     INTEGER NOT NULL,
    grain_id_ext    TEXT    NULL,
    payload         BLOB    NULL,
    version         INTEGER NOT NULL,
    modified_at     TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per identity. SQLite's unique indexes treat NULLs as distinct, so the extension goes in as a
-- non-NULL value plus a NULL flag.
CREATE UNIQUE INDEX IF NOT EXISTS layerchop_grain_state_identity ON layerchop_grain_state
(
    grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1,
    service_id, grain_type, ifnull(grain_id_ext, ''), grain_id_ext IS NULL
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('ReadFromStorageKey', '
SELECT payload AS PayloadBinary, version AS Version
  FROM layerchop_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId;
'),

('WriteToStorageKey', '
UPDATE layerchop_grain_state
   SET payload = @PayloadBinary, version = version + 1, modified_at = CURRENT_TIMESTAMP
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId
   AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
INSERT INTO layerchop_grain_state (service_id, grain_type, grain_type_hash, grain_id_hash,
                                   grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
SELECT @ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
       @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
 WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING version AS NewGrainStateVersion;
'),

('ClearStorageKey', '
UPDATE layerchop_grain_state
   SET payload = NULL, version = version + 1, modified_at = CURRENT_TIMESTAMP
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId
   AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
'),

('DeleteStorageKey', '
DELETE FROM layerchop_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId
   AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
')

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText;

INSERT INTO layerchop_schema (component, version, applied_at) VALUES ('persistence', 1, CURRENT_TIMESTAMP)
ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at;
