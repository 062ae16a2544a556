-- LayerChop database schema for PostgreSQL, part 3 of 3: durable reminders (Orleans ADO.NET reminders).
--
-- One row per (service, grain, reminder name). GrainId is Orleans' textual grain id ("type/key");
-- grain_hash is its uniform hash as a signed 32-bit integer, which is how silos split the reminders
-- among themselves (ranges of that hash). Period is in milliseconds (bigint: it may exceed int32).
-- The version is the reminder's ETag: 0 when created, changed by every upsert; a delete must name it.

CREATE TABLE IF NOT EXISTS layerchop_reminder
(
    service_id    text        NOT NULL,
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    start_time    timestamptz NOT NULL,
    period        bigint      NOT NULL,
    grain_hash    integer     NOT NULL,
    version       integer     NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX IF NOT EXISTS layerchop_reminder_hash ON layerchop_reminder (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Creates or replaces a reminder; the new version comes back as the ETag (it wraps before int32 overflows).
('UpsertReminderRowKey', $q$
INSERT INTO layerchop_reminder (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
   SET start_time = EXCLUDED.start_time, period = EXCLUDED.period, grain_hash = EXCLUDED.grain_hash,
       version = (layerchop_reminder.version % 2147483647) + 1
RETURNING version AS Version;
$q$),

('ReadReminderRowsKey', $q$
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period,
       version AS Version
  FROM layerchop_reminder
 WHERE service_id = @ServiceId AND grain_id = @GrainId;
$q$),

('ReadReminderRowKey', $q$
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period,
       version AS Version
  FROM layerchop_reminder
 WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
$q$),

-- A slice of the hash ring that does not wrap: BeginHash < hash <= EndHash.
('ReadRangeRows1Key', $q$
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period,
       version AS Version
  FROM layerchop_reminder
 WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
$q$),

-- A slice that wraps around (or the whole ring when BeginHash = EndHash).
('ReadRangeRows2Key', $q$
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period AS Period,
       version AS Version
  FROM layerchop_reminder
 WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$q$),

-- Deletes one reminder if its version still matches. True when it was deleted.
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM layerchop_reminder
     WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
       AND version = @Version
    RETURNING 1)
SELECT count(*) > 0 FROM deleted;
$q$),

-- Deletes every reminder of the service (tests and tooling).
('DeleteReminderRowsKey', $q$
DELETE FROM layerchop_reminder WHERE service_id = @ServiceId;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO layerchop_schema (component, version, applied_at) VALUES ('reminders', 1, now())
ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = EXCLUDED.applied_at;
