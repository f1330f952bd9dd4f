/**
 * The versioned schema of both backends, described once; append new migrations, never edit old
 * ones (each backend records how many it applied: sqljs/schema-version.ts, postgres/schema.ts).
 * The dialect supplies the column types. What PostgreSQL has in addition:
 * - text columns are `COLLATE "C"` so that ORDER BY and comparisons are bytewise, as in SQLite;
 * - tables the embedded store orders by rowid get a `seq` column (the dialect's insertionOrder);
 * - audit `details`, event `data` and key JSON stay TEXT on both: the audit hash covers the exact text;
 * - `event_heads` records each project's newest event id (the push relay's starting point);
 * - `rate_counters` shares rate-limit windows between instances (UNLOGGED: losing counters in a
 *   crash is harmless, and it saves WAL on every request);
 * - a few indexes for queries that run only there, and the audit-head lock function.
 * Backups differ in migration 3: the embedded store keeps blobs in files beside the database.
 */
import { postgresDialect, type SqlDialect, sqliteDialect } from './dialect.ts';

function migrations(dialect: SqlDialect): string[][] {
  const { text, bigint, boolean, serialKey } = dialect.types;
  const postgres = dialect.name === 'postgres';
  const onPostgres = (...statements: string[]): string[] => (postgres ? statements : []);
  /** The `seq` column (first or second in its table) that keeps insertion order on PostgreSQL. */
  const seq = (definition: string): string => (postgres ? `seq ${definition},` : '');
  return [
    [
      `CREATE TABLE key_sets (
        id ${serialKey},
        key_format ${text} NOT NULL,
        project_id ${text} NOT NULL,
        user_id ${text} NOT NULL,
        device_id ${text} NOT NULL,
        device_name ${text},
        registration_id INTEGER,
        identity_key ${text} NOT NULL,
        signed_pre_key ${text} NOT NULL,
        signed_pre_key_created_at ${text} NOT NULL,
        last_resort_pre_key ${text},
        pq_last_resort_pre_key ${text},
        status ${text} NOT NULL,
        status_reason ${text},
        one_time_pre_key_count INTEGER NOT NULL DEFAULT 0,
        registered_at ${text} NOT NULL,
        last_rotated_at ${text},
        revoked_at ${text}
      )`,
      'CREATE INDEX key_sets_user ON key_sets (project_id, user_id)',
      `CREATE UNIQUE INDEX key_sets_one_live_per_device ON key_sets (project_id, user_id, device_id) WHERE status <> 'revoked'`,
      'CREATE INDEX key_sets_registered ON key_sets (project_id, registered_at)',
      `CREATE TABLE signed_pre_key_history (
        ${seq('BIGSERIAL PRIMARY KEY')}
        key_set_id ${bigint} NOT NULL,
        key_id ${text} NOT NULL,
        public_key ${text} NOT NULL,
        signature ${text} NOT NULL,
        created_at ${text} NOT NULL,
        replaced_at ${text} NOT NULL
      )`,
      `CREATE INDEX signed_pre_key_history_key_set ON signed_pre_key_history (key_set_id${postgres ? ', seq' : ''})`,
      `CREATE TABLE one_time_pre_keys (
        id ${serialKey},
        key_set_id ${bigint} NOT NULL,
        kind ${text} NOT NULL,
        key_id ${text} NOT NULL,
        public_key ${text} NOT NULL,
        signature ${text},
        created_at ${text} NOT NULL
      )`,
      'CREATE UNIQUE INDEX one_time_pre_keys_key_id ON one_time_pre_keys (key_set_id, kind, key_id)',
      'CREATE INDEX one_time_pre_keys_oldest ON one_time_pre_keys (key_set_id, kind, id)',
      `CREATE TABLE backups (
        project_id ${text} NOT NULL,
        user_id ${text} NOT NULL,
        version INTEGER NOT NULL,
        encrypted_bundle ${text} NOT NULL,
        encryption_metadata ${text} NOT NULL,
        checksum ${text} NOT NULL,
        created_at ${text} NOT NULL,
        PRIMARY KEY (project_id, user_id, version)
      )`,
      `CREATE TABLE sessions (
        session_id ${text} PRIMARY KEY,
        project_id ${text} NOT NULL,
        initiator_user_id ${text} NOT NULL,
        responder_user_id ${text} NOT NULL,
        responder_device_id ${text} NOT NULL,
        initiator_identity_key ${text} NOT NULL,
        initiator_ephemeral_key ${text} NOT NULL,
        signed_pre_key_id ${text} NOT NULL,
        one_time_pre_key_id ${text},
        status ${text} NOT NULL,
        created_at ${text} NOT NULL,
        expires_at ${text} NOT NULL,
        completed_at ${text}
      )`,
      'CREATE INDEX sessions_initiator ON sessions (project_id, initiator_user_id)',
      'CREATE INDEX sessions_responder ON sessions (project_id, responder_user_id)',
      ...onPostgres('CREATE INDEX sessions_expires ON sessions (expires_at)'),
      `CREATE TABLE audit_log (
        id ${serialKey},
        project_id ${text} NOT NULL,
        action ${text} NOT NULL,
        resource ${text} NOT NULL,
        user_id ${text},
        details ${text} NOT NULL,
        ip_address ${text},
        actor ${text} NOT NULL,
        status ${text} NOT NULL,
        created_at ${text} NOT NULL,
        prev_hash ${text} NOT NULL,
        hash ${text} NOT NULL
      )`,
      'CREATE INDEX audit_log_project ON audit_log (project_id, id)',
      'CREATE INDEX audit_log_user ON audit_log (project_id, user_id, id)',
      `CREATE TABLE events (
        id ${serialKey},
        project_id ${text} NOT NULL,
        user_id ${text} NOT NULL,
        event ${text} NOT NULL,
        data ${text} NOT NULL,
        created_at ${text} NOT NULL
      )`,
      'CREATE INDEX events_user ON events (project_id, user_id, id)',
      ...onPostgres('CREATE INDEX events_project ON events (project_id, id)'),
      'CREATE INDEX events_created ON events (created_at)',
      ...onPostgres(`CREATE TABLE event_heads (project_id ${text} PRIMARY KEY, last_id BIGINT NOT NULL)`),
      `CREATE TABLE api_keys (
        uid ${text} PRIMARY KEY,
        ${seq('BIGSERIAL NOT NULL')}
        project_id ${text} NOT NULL,
        hash ${text} NOT NULL UNIQUE,
        prefix ${text} NOT NULL,
        description ${text},
        acl ${text} NOT NULL,
        user_ids ${text} NOT NULL,
        expires_at ${text},
        revoked ${boolean} NOT NULL,
        created_at ${text} NOT NULL,
        updated_at ${text} NOT NULL,
        last_used_at ${text}
      )`,
      'CREATE INDEX api_keys_project ON api_keys (project_id, created_at)',
      `CREATE TABLE public_keys (
        id ${text} PRIMARY KEY,
        ${seq('BIGSERIAL NOT NULL')}
        project_id ${text} NOT NULL,
        owner_id ${text} NOT NULL,
        name ${text} NOT NULL,
        key_type ${text} NOT NULL,
        public_key ${text} NOT NULL,
        created_at ${text} NOT NULL
      )`,
      'CREATE UNIQUE INDEX public_keys_name ON public_keys (project_id, owner_id, name)',
      `CREATE TABLE settings (name ${text} PRIMARY KEY, value ${text} NOT NULL)`,
      ...onPostgres(
        `CREATE UNLOGGED TABLE rate_counters (
          key ${text} NOT NULL,
          window_start BIGINT NOT NULL,
          reset_at BIGINT NOT NULL,
          count INTEGER NOT NULL,
          PRIMARY KEY (key, window_start)
        )`,
        'CREATE INDEX rate_counters_reset ON rate_counters (reset_at)',
        // One round trip for "lock the project's chain, then read its head". A VOLATILE function
        // takes a new snapshot per statement, so the SELECT sees every commit made before the lock.
        `CREATE FUNCTION lock_project_audit_head(project TEXT) RETURNS TEXT LANGUAGE plpgsql VOLATILE AS $$
         BEGIN
           PERFORM pg_advisory_xact_lock(hashtextextended('prekeyd:project:' || project, 0));
           RETURN (SELECT hash FROM audit_log WHERE project_id = project COLLATE "C" ORDER BY id DESC LIMIT 1);
         END
         $$`,
      ),
    ],
    // The last-resort pre-key a session's initiator used for DH4 when no one-time pre-key was left.
    [`ALTER TABLE sessions ADD COLUMN last_resort_pre_key_id ${text}`],
    // The decoded size of each backup blob, for the stored-bytes quota of a project. The embedded
    // store keeps blobs in files beside the database (sqljs/blob-files.ts): a row keeps their SHA-256
    // and `encrypted_bundle` is '' then (rows of older versions are moved out at start, sizes with them).
    postgres
      ? [`ALTER TABLE backups ADD COLUMN size_bytes ${bigint} NOT NULL DEFAULT 0`, `UPDATE backups SET size_bytes = length(decode(encrypted_bundle, 'base64'))`]
      : [`ALTER TABLE backups ADD COLUMN blob_checksum ${text}`, `ALTER TABLE backups ADD COLUMN size_bytes ${bigint} NOT NULL DEFAULT 0`],
    // Each user's device-list version (multi-device /v1): a row once the list first changes.
    [
      `CREATE TABLE device_lists (
        project_id ${text} NOT NULL,
        user_id ${text} NOT NULL,
        version ${bigint} NOT NULL,
        expiries_seen_at ${text},
        PRIMARY KEY (project_id, user_id)
      )`,
    ],
    // Key transparency (src/transparency): each project's log head, its leaves, and its hash tiles.
    [
      `CREATE TABLE transparency_logs (
        project_id ${text} PRIMARY KEY,
        origin ${text},
        signer_key ${text},
        retired_keys ${text} NOT NULL DEFAULT '[]',
        next_index ${bigint} NOT NULL,
        tree_size ${bigint} NOT NULL DEFAULT 0,
        checkpoint ${text},
        updated_at ${text}
      )`,
      `CREATE TABLE transparency_leaves (
        project_id ${text} NOT NULL,
        leaf_index ${bigint} NOT NULL,
        leaf ${text} NOT NULL,
        leaf_hash ${text} NOT NULL,
        key_set_id ${bigint},
        anchor_hash ${text},
        created_at ${text} NOT NULL,
        PRIMARY KEY (project_id, leaf_index)
      )`,
      'CREATE INDEX transparency_leaves_hash ON transparency_leaves (project_id, leaf_hash)',
      'CREATE INDEX transparency_leaves_key_set ON transparency_leaves (project_id, key_set_id, leaf_index) WHERE key_set_id IS NOT NULL',
      'CREATE INDEX transparency_leaves_anchor ON transparency_leaves (project_id, anchor_hash) WHERE anchor_hash IS NOT NULL',
      `CREATE TABLE transparency_tiles (
        project_id ${text} NOT NULL,
        level INTEGER NOT NULL,
        tile_index ${bigint} NOT NULL,
        hashes ${text} NOT NULL,
        PRIMARY KEY (project_id, level, tile_index)
      )`,
    ],
    // Post-quantum pre-keys: their count beside the EC one, and PQXDH sessions (the ML-KEM key used, the initiator's ciphertext).
    [
      'ALTER TABLE key_sets ADD COLUMN pq_one_time_pre_key_count INTEGER NOT NULL DEFAULT 0',
      `UPDATE key_sets SET pq_one_time_pre_key_count = (SELECT COUNT(*) FROM one_time_pre_keys WHERE key_set_id = key_sets.id AND kind = 'kyber')`,
      `ALTER TABLE sessions ADD COLUMN pq_pre_key_id ${text}`,
      'ALTER TABLE sessions ADD COLUMN pq_pre_key_last_resort INTEGER NOT NULL DEFAULT 0',
      `ALTER TABLE sessions ADD COLUMN kem_ciphertext ${text}`,
    ],
  ];
}

export const embeddedMigrations: string[][] = migrations(sqliteDialect);
export const postgresMigrations: string[][] = migrations(postgresDialect);
