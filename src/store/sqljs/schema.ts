/** Versioned schema of the embedded store; append new migrations, never edit old ones. */
export const migrations: string[][] = [
  [
    `CREATE TABLE key_sets (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      key_format TEXT NOT NULL,
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      device_name TEXT,
      registration_id INTEGER,
      identity_key TEXT NOT NULL,
      signed_pre_key TEXT NOT NULL,
      signed_pre_key_created_at TEXT NOT NULL,
      last_resort_pre_key TEXT,
      pq_last_resort_pre_key TEXT,
      status TEXT NOT NULL,
      status_reason TEXT,
      one_time_pre_key_count INTEGER NOT NULL DEFAULT 0,
      registered_at TEXT NOT NULL,
      last_rotated_at TEXT,
      revoked_at TEXT
    )`,
    'CREATE INDEX key_sets_user ON key_sets (project_id, user_id)',
    `CREATE UNIQUE INDEX key_sets_one_live_per_device ON key_sets (project_id, user_id, device_id) WHERE status <> 'revoked'`,
    'CREATE INDEX key_sets_registered ON key_sets (project_id, registered_at)',
    `CREATE TABLE signed_pre_key_history (
      key_set_id INTEGER NOT NULL,
      key_id TEXT NOT NULL,
      public_key TEXT NOT NULL,
      signature TEXT NOT NULL,
      created_at TEXT NOT NULL,
      replaced_at TEXT NOT NULL
    )`,
    'CREATE INDEX signed_pre_key_history_key_set ON signed_pre_key_history (key_set_id)',
    `CREATE TABLE one_time_pre_keys (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      key_set_id INTEGER NOT NULL,
      kind TEXT NOT NULL,
      key_id TEXT NOT NULL,
      public_key TEXT NOT NULL,
      signature TEXT,
      created_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX one_time_pre_keys_key_id ON one_time_pre_keys (key_set_id, kind, key_id)',
    'CREATE INDEX one_time_pre_keys_oldest ON one_time_pre_keys (key_set_id, kind, id)',
    `CREATE TABLE backups (
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      encrypted_bundle TEXT NOT NULL,
      encryption_metadata TEXT NOT NULL,
      checksum TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (project_id, user_id, version)
    )`,
    `CREATE TABLE sessions (
      session_id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      initiator_user_id TEXT NOT NULL,
      responder_user_id TEXT NOT NULL,
      responder_device_id TEXT NOT NULL,
      initiator_identity_key TEXT NOT NULL,
      initiator_ephemeral_key TEXT NOT NULL,
      signed_pre_key_id TEXT NOT NULL,
      one_time_pre_key_id TEXT,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      completed_at TEXT
    )`,
    'CREATE INDEX sessions_initiator ON sessions (project_id, initiator_user_id)',
    'CREATE INDEX sessions_responder ON sessions (project_id, responder_user_id)',
    `CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      project_id TEXT NOT NULL,
      action TEXT NOT NULL,
      resource TEXT NOT NULL,
      user_id TEXT,
      details TEXT NOT NULL,
      ip_address TEXT,
      actor TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    )`,
    'CREATE INDEX audit_log_project ON audit_log (project_id, id)',
    'CREATE INDEX audit_log_user ON audit_log (project_id, user_id, id)',
    `CREATE TABLE events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      event TEXT NOT NULL,
      data TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
    'CREATE INDEX events_user ON events (project_id, user_id, id)',
    'CREATE INDEX events_created ON events (created_at)',
    `CREATE TABLE api_keys (
      uid TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE,
      prefix TEXT NOT NULL,
      description TEXT,
      acl TEXT NOT NULL,
      user_ids TEXT NOT NULL,
      expires_at TEXT,
      revoked INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      last_used_at TEXT
    )`,
    'CREATE INDEX api_keys_project ON api_keys (project_id, created_at)',
    `CREATE TABLE public_keys (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      owner_id TEXT NOT NULL,
      name TEXT NOT NULL,
      key_type TEXT NOT NULL,
      public_key TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX public_keys_name ON public_keys (project_id, owner_id, name)',
    'CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
  ],
  // The last-resort pre-key a session's initiator used for DH4 when no one-time pre-key was left.
  ['ALTER TABLE sessions ADD COLUMN last_resort_pre_key_id TEXT'],
  // Backup blobs live in files beside the database (blob-files.ts): a row keeps their SHA-256 and
  // size; `encrypted_bundle` is '' then (rows of older versions are moved out at start).
  ['ALTER TABLE backups ADD COLUMN blob_checksum TEXT', 'ALTER TABLE backups ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0'],
  // Each user's device-list version (multi-device /v1): a row once the list first changes.
  [
    `CREATE TABLE device_lists (
      project_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      expiries_seen_at TEXT,
      PRIMARY KEY (project_id, user_id)
    )`,
  ],
  // Key transparency (src/transparency): each project's log head, its leaves, and its hash tiles.
  [
    `CREATE TABLE transparency_logs (
      project_id TEXT PRIMARY KEY,
      origin TEXT,
      signer_key TEXT,
      retired_keys TEXT NOT NULL DEFAULT '[]',
      next_index INTEGER NOT NULL,
      tree_size INTEGER NOT NULL DEFAULT 0,
      checkpoint TEXT,
      updated_at TEXT
    )`,
    `CREATE TABLE transparency_leaves (
      project_id TEXT NOT NULL,
      leaf_index INTEGER NOT NULL,
      leaf TEXT NOT NULL,
      leaf_hash TEXT NOT NULL,
      key_set_id INTEGER,
      anchor_hash TEXT,
      created_at TEXT NOT NULL,
      PRIMARY KEY (project_id, leaf_index)
    )`,
    'CREATE INDEX transparency_leaves_hash ON transparency_leaves (project_id, leaf_hash)',
    'CREATE INDEX transparency_leaves_key_set ON transparency_leaves (project_id, key_set_id, leaf_index) WHERE key_set_id IS NOT NULL',
    'CREATE INDEX transparency_leaves_anchor ON transparency_leaves (project_id, anchor_hash) WHERE anchor_hash IS NOT NULL',
    `CREATE TABLE transparency_tiles (
      project_id TEXT NOT NULL,
      level INTEGER NOT NULL,
      tile_index INTEGER NOT NULL,
      hashes TEXT NOT NULL,
      PRIMARY KEY (project_id, level, tile_index)
    )`,
  ],
  // Post-quantum pre-keys: their count beside the EC one, and PQXDH sessions (the ML-KEM key used, the initiator's ciphertext).
  [
    'ALTER TABLE key_sets ADD COLUMN pq_one_time_pre_key_count INTEGER NOT NULL DEFAULT 0',
    `UPDATE key_sets SET pq_one_time_pre_key_count = (SELECT COUNT(*) FROM one_time_pre_keys WHERE key_set_id = key_sets.id AND kind = 'kyber')`,
    'ALTER TABLE sessions ADD COLUMN pq_pre_key_id TEXT',
    'ALTER TABLE sessions ADD COLUMN pq_pre_key_last_resort INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE sessions ADD COLUMN kem_ciphertext TEXT',
  ],
];
