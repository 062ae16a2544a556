-- LayerChop database schema for PostgreSQL, part 1 of 3: cluster membership (Orleans ADO.NET clustering).
--
-- Silos of one cluster (Orleans' DeploymentId = ClusterOptions.ClusterId) share one version row. Every
-- change of membership (a silo joins, changes status, is suspected) must name the version it last read
-- and bumps it by exactly one; a writer holding a stale version changes nothing and gets false back.
-- The version predicate sits in the UPDATE of the version row, so the row lock serializes racers and
-- the loser re-checks the predicate after the winner commits (READ COMMITTED). Each query below is one
-- statement, hence atomic. Heartbeats (IAmAliveTime) are not membership changes: no version bump.
-- Parameters arrive by name (@DeploymentId ...); result columns are matched by name, case-insensitively.

CREATE TABLE IF NOT EXISTS layerchop_membership_version
(
    deployment_id text        NOT NULL PRIMARY KEY,
    version       integer     NOT NULL DEFAULT 0,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS layerchop_silo
(
    deployment_id   text        NOT NULL REFERENCES layerchop_membership_version (deployment_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,
    proxy_port      integer     NOT NULL,
    suspect_times   text        NULL,
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Creates the cluster's version row (version 0) unless it exists. True when it was created.
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO layerchop_membership_version (deployment_id, version)
    VALUES (@DeploymentId, 0)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1)
SELECT count(*) > 0 FROM created;
$q$),

-- The version row left-joined with every silo of the cluster, read in one snapshot. With no silo the
-- single row carries the version and NULL member columns (StartTime NULL means "no member").
('MembershipReadAllKey', $q$
SELECT v.version AS Version,
       s.address AS Address, s.port AS Port, s.generation AS Generation,
       s.silo_name AS SiloName, s.host_name AS HostName, s.status AS Status, s.proxy_port AS ProxyPort,
       s.suspect_times AS SuspectTimes, s.start_time AS StartTime, s.i_am_alive_time AS IAmAliveTime
FROM layerchop_membership_version v
LEFT JOIN layerchop_silo s ON s.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;
$q$),

-- Same shape, joining only the one silo.
('MembershipReadRowKey', $q$
SELECT v.version AS Version,
       s.address AS Address, s.port AS Port, s.generation AS Generation,
       s.silo_name AS SiloName, s.host_name AS HostName, s.status AS Status, s.proxy_port AS ProxyPort,
       s.suspect_times AS SuspectTimes, s.start_time AS StartTime, s.i_am_alive_time AS IAmAliveTime
FROM layerchop_membership_version v
LEFT JOIN layerchop_silo s
       ON s.deployment_id = v.deployment_id
      AND s.address = @Address AND s.port = @Port AND s.generation = @Generation
WHERE v.deployment_id = @DeploymentId;
$q$),

-- Adds a silo if the caller's version is current and the silo is not there yet; bumps the version.
-- All or nothing: the insert feeds on the bumped row, and a duplicate that slipped past the check
-- fails the whole statement on the primary key.
('InsertMembershipKey', $q$
WITH bumped AS (
    UPDATE layerchop_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = @DeploymentId
       AND version = @Version
       AND NOT EXISTS (SELECT 1 FROM layerchop_silo
                        WHERE deployment_id = @DeploymentId
                          AND address = @Address AND port = @Port AND generation = @Generation)
    RETURNING deployment_id),
added AS (
    INSERT INTO layerchop_silo (deployment_id, address, port, generation, silo_name, host_name, status,
                                proxy_port, suspect_times, start_time, i_am_alive_time)
    SELECT deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
           @ProxyPort, NULL, @StartTime, @IAmAliveTime
      FROM bumped
    RETURNING 1)
SELECT count(*) > 0 FROM added;
$q$),

-- Changes a silo's status and suspicions if the caller's version is current and the silo exists; bumps
-- the version. The silo row is locked first so that it cannot vanish between the check and the change.
('UpdateMembershipKey', $q$
WITH member AS (
    SELECT 1 FROM layerchop_silo
     WHERE deployment_id = @DeploymentId
       AND address = @Address AND port = @Port AND generation = @Generation
       FOR UPDATE),
bumped AS (
    UPDATE layerchop_membership_version
       SET version = version + 1, changed_at = now()
     WHERE deployment_id = @DeploymentId
       AND version = @Version
       AND EXISTS (SELECT 1 FROM member)
    RETURNING deployment_id),
changed AS (
    UPDATE layerchop_silo s
       SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
      FROM bumped
     WHERE s.deployment_id = bumped.deployment_id
       AND s.address = @Address AND s.port = @Port AND s.generation = @Generation
    RETURNING 1)
SELECT count(*) > 0 FROM changed;
$q$),

-- Heartbeat: no version check, no version bump.
('UpdateIAmAlivetimeKey', $q$
UPDATE layerchop_silo
   SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId
   AND address = @Address AND port = @Port AND generation = @Generation;
$q$),

-- Gateways for clients: silos in the given status (Active) that accept clients.
('GatewaysQueryKey', $q$
SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
  FROM layerchop_silo
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$q$),

-- Forgets silos that are not Active (3) and have not sent a heartbeat since the cutoff. The version row
-- stays.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM layerchop_silo
 WHERE deployment_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3;
$q$),

-- Forgets the whole cluster: the version row, and its silos with it (ON DELETE CASCADE).
('DeleteMembershipTableEntriesKey', $q$
DELETE FROM layerchop_membership_version WHERE deployment_id = @DeploymentId;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

INSERT INTO layerchop_schema (component, version, applied_at) VALUES ('clustering', 1, now())
ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = EXCLUDED.applied_at;
