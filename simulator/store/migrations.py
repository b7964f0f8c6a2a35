"""Schema, as sqlite-utils migrations. Add a new function for every change; never edit one
that has shipped.

Design (see ../shared/notes/stack-findings.md §4):
- users keep every attribute in one JSON object ``attrs`` keyed by storage key (see
  ``core.attributes``); the standard attributes segment queries and lookups need are
  VIRTUAL generated columns, so the SQL that filters on them is the column name, never a
  JSON expression that might miss its index.
- events have one secondary index, ``(name, user_id, ts)``: it covers "did X n times in a
  window", the did/did-not point lookups and, through SQLite's skip-scan once ANALYZE has
  run, a user's own timeline.
- times are epoch milliseconds (UTC) from the simulator's clock.
"""

from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("moesim")


@MIGRATIONS()
def m001_users_events_sinks(db):
    db.executescript("""
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL UNIQUE,
        attrs TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        email TEXT GENERATED ALWAYS AS (json_extract(attrs, '$.u_em')) VIRTUAL,
        mobile TEXT GENERATED ALWAYS AS (json_extract(attrs, '$.u_mb')) VIRTUAL,
        first_name TEXT GENERATED ALWAYS AS (json_extract(attrs, '$.u_fn')) VIRTUAL,
        last_seen TEXT GENERATED ALWAYS AS (json_extract(attrs, '$.u_l_a')) VIRTUAL,
        tz_offset_mins REAL GENERATED ALWAYS AS (json_extract(attrs, '$.moe_dtzo')) VIRTUAL
    );
    CREATE INDEX ix_users_email ON users(email);
    CREATE INDEX ix_users_mobile ON users(mobile);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        ts INTEGER NOT NULL,
        attrs TEXT NOT NULL DEFAULT '{}',
        platform TEXT,
        app_version TEXT,
        user_time INTEGER,
        tz_offset INTEGER,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX ix_events_name_user_ts ON events(name, user_id, ts);

    -- MoEngage fixes an attribute's data type when it is first seen [I: first type wins].
    CREATE TABLE attribute_types (
        entity TEXT NOT NULL,          -- 'user' or 'event'
        scope TEXT NOT NULL,           -- '' for users, the event name for events
        key TEXT NOT NULL,
        type TEXT NOT NULL,
        PRIMARY KEY (entity, scope, key)
    ) WITHOUT ROWID;

    CREATE TABLE sinks (
        name TEXT PRIMARY KEY,
        behaviour TEXT NOT NULL DEFAULT '{}',
        served INTEGER NOT NULL DEFAULT 0,
        fail_next_left INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sink_requests (
        id INTEGER PRIMARY KEY,
        sink TEXT NOT NULL,
        seq INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        record TEXT NOT NULL          -- the JSON the sinks API lists
    );
    CREATE INDEX ix_sink_requests_sink ON sink_requests(sink, seq);
    """)


@MIGRATIONS()
def m002_apps_connectors(db):
    db.executescript("""
    CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE connectors (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id),
        current_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- Every upload is kept: campaigns keep the version they were created with (spec §1, S3).
    CREATE TABLE connector_versions (
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (connector_id, version)
    ) WITHOUT ROWID;
    """)


@MIGRATIONS()
def m003_connections(db):
    db.executescript("""
    CREATE TABLE connections (
        id INTEGER PRIMARY KEY,
        connector_id INTEGER NOT NULL REFERENCES connectors(id),
        connector_version INTEGER NOT NULL,
        name TEXT NOT NULL,
        field_values TEXT NOT NULL,      -- secrets included: masked by every view, never logged
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (connector_id, name)
    );
    """)


@MIGRATIONS()
def m004_campaigns_deliveries_jobs(db):
    db.executescript("""
    CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,              -- 24 hex digits, like MoEngage's campaign ids
        request_id TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        delivery_type TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT NOT NULL,               -- the create request as accepted
        connector_id INTEGER,
        connector_version INTEGER,        -- pinned: later uploads do not change it
        connection_id INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        sent_at INTEGER
    );
    -- One row per user send: the delivery log and the source of every stat.
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        customer_id TEXT NOT NULL,
        outcome TEXT NOT NULL,            -- 'sent' or 'failed'
        reason TEXT,                      -- why it failed, e.g. 'http_500', 'timeout'
        http_status INTEGER,
        request TEXT,                     -- rendered request, secrets masked
        response TEXT,                    -- status, headers, body excerpt
        elapsed_ms REAL,
        ts INTEGER NOT NULL
    );
    CREATE INDEX ix_deliveries_campaign ON deliveries(campaign_id, user_id);
    -- Scheduled work: rows with a due time, run in (due_at, id) order.
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        due_at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        campaign_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'pending',
        finished_at INTEGER
    );
    CREATE INDEX ix_jobs_pending ON jobs(status, due_at, id);
    """)


@MIGRATIONS()
def m005_connection_oauth(db):
    db.executescript("""
    ALTER TABLE connections ADD COLUMN oauth_state TEXT;   -- the pending flow's state value
    ALTER TABLE connections ADD COLUMN tokens TEXT;        -- OAuth tokens: secrets, never shown
    CREATE UNIQUE INDEX ix_connections_oauth_state ON connections(oauth_state);
    """)


@MIGRATIONS()
def m006_oauth_configs(db):
    db.executescript("""
    CREATE TABLE oauth_configs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        status TEXT NOT NULL,             -- ACTIVE or FAILED (spec §6.6)
        token TEXT,                       -- a secret: never shown
        expires_at INTEGER,
        detail TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    """)


@MIGRATIONS()
def m007_campaign_versions_instances(db):
    db.executescript("""
    ALTER TABLE campaigns ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE campaigns ADD COLUMN parent_id TEXT;      -- periodic instances: the parent
    ALTER TABLE campaigns ADD COLUMN instance INTEGER;    -- periodic instances: 1, 2, ...
    CREATE INDEX ix_campaigns_parent ON campaigns(parent_id);
    CREATE INDEX ix_campaigns_type_status ON campaigns(delivery_type, status);
    """)


@MIGRATIONS()
def m008_segments(db):
    db.executescript("""
    -- Saved segments (custom_segments filters resolve to them by id at send time).
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        segmentation TEXT NOT NULL,       -- segmentation_details as accepted
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    """)


@MIGRATIONS()
def m009_delivery_gates(db):
    db.executescript("""
    -- Frequency capping and "limit messages per user" count a user's recent sends.
    CREATE INDEX ix_deliveries_user_ts ON deliveries(user_id, ts);
    """)


@MIGRATIONS()
def m010_devices(db):
    db.executescript("""
    -- Track Device (data.yaml /device/{app_id}): a device belongs to one user at a time.
    CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        attrs TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX ix_devices_user ON devices(user_id);
    """)


@MIGRATIONS()
def m011_delivery_campaign_time(db):
    db.executescript("""
    -- A campaign's deliveries by time with their outcome: stats, sends over time and the
    -- deliveries of the last hour read this index alone (docs/benchmarks.md, "Dashboard").
    CREATE INDEX ix_deliveries_campaign_ts ON deliveries(campaign_id, ts, outcome, reason);
    """)


@MIGRATIONS()
def m012_delivery_fallback(db):
    db.executescript("""
    -- The sends the spec §2.7 fallback decided, by campaign (a partial index: only those rows),
    -- so the stats count them without reading any logged response.
    CREATE INDEX ix_deliveries_fallback ON deliveries(campaign_id, outcome)
        WHERE json_extract(response, '$.decided_by') = 'fallback';
    """)
