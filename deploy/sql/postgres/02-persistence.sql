-- LayerChop database schema for PostgreSQL, part 2 of 3: grain state (Orleans ADO.NET grain persistence).
--
-- A state row is identified by the service (ClusterOptions.ServiceId), the state name (GrainTypeString:
-- "state" for Grain<T>, else the [PersistentState] name) and the grain key: two 64-bit halves plus an
-- optional string extension (for string keys the whole key). The two hashes exist only to keep the index
-- narrow; they can collide, so every lookup also compares the full identity, NULL-safely.
--
-- The ETag is the row's version, an integer: 1 after the first write, +1 after each write or clear.
-- A write or clear that names a stale version changes nothing and returns no row, which the provider
-- reports as InconsistentStateException. A clear keeps the row with a NULL payload and a new version.
-- The payload is whatever the configured grain storage serializer produced (LayerChop: the Orleans
-- binary serializer; see src/Silo/Storage/StorageSetup.cs).

CREATE TABLE IF NOT EXISTS layerchop_grain_state
(
    service_id      text        NOT NULL,
    grain_type      text        NOT NULL,
    grain_type_hash integer     NOT NULL,
    grain_id_hash   integer     NOT NULL,
    grain_id_n0     bigint      NOT NULL,
    grain_id_n1     bigint      NOT NULL,
    grain_id_ext    text        NULL,
    payload         bytea       NULL,
    version         integer     NOT NULL,
    modified_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per identity. The text parts go in as md5 digests so that keys of any length fit a btree
-- entry; a NULL extension is told apart from every string by the 'null' marker (md5 output is hex).
CREATE UNIQUE INDEX IF NOT EXISTS layerchop_grain_state_identity ON layerchop_grain_state
(
    grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1,
    md5(service_id), md5(grain_type), coalesce(md5(grain_id_ext), 'null')
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

('ReadFromStorageKey', $q$
SELECT payload AS PayloadBinary, version AS Version
  FROM layerchop_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId;
$q$),

-- No version (the grain was never written, or its row was deleted): insert with version 1 unless a row
-- exists. A version: replace the payload if it is still current. Returns the new version, or no row.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE layerchop_grain_state
       SET payload = @PayloadBinary, version = version + 1, modified_at = now()
     WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
       AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
       AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
       AND grain_type = @GrainTypeString AND service_id = @ServiceId
       AND version = @GrainStateVersion
    RETURNING version),
inserted AS (
    INSERT INTO layerchop_grain_state (service_id, grain_type, grain_type_hash, grain_id_hash,
                                       grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash,
           @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT version FROM inserted;
$q$),

-- Keeps the row, drops the payload, bumps the version (if the caller's version is current).
('ClearStorageKey', $q$
UPDATE layerchop_grain_state
   SET payload = NULL, version = version + 1, modified_at = now()
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId
   AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
$q$),

-- For DeleteStateOnClear: removes the row (if the caller's version is current) and returns a value other
-- than that version, which is how the provider tells success.
('DeleteStorageKey', $q$
DELETE FROM layerchop_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
   AND grain_type = @GrainTypeString AND service_id = @ServiceId
   AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO layerchop_schema (component, version, applied_at) VALUES ('persistence', 1, now())
ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = EXCLUDED.applied_at;
