import type { ColumnType } from 'kysely';

export type Role = 'owner' | 'admin' | 'writer' | 'reader';
export type NamespaceKind = 'user' | 'org';

/** A 64-bit integer column: PostgreSQL hands bigints back as strings, SQLite as numbers. */
type BigIntColumn = ColumnType<number | string, number, number>;

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  created_at: string;
  /** Moves on at each password change; a JWT carries the epoch it was issued in. */
  token_epoch: ColumnType<number, number | undefined, number>;
}

export interface NamespacesTable {
  id: string;
  name: string;
  kind: NamespaceKind;
  created_at: string;
}

export interface MembershipsTable {
  namespace_id: string;
  user_id: string;
  role: Role;
  created_at: string;
}

export interface SpacesTable {
  id: string;
  namespace_id: string;
  name: string;
  created_by: string;
  created_at: string;
  /** The newest snapshot's version; 0 while the space has none. */
  head_version: ColumnType<number, number | undefined, number>;
}

export interface FilesTable {
  id: string;
  space_id: string;
  name: string;
  type: string;
  size: BigIntColumn;
  content_type: string;
  hash: string;
  uploaded_by: string;
  created_at: string;
  updated_at: string;
  /** The version that wrote this entry of head. */
  from_version: ColumnType<number, number | undefined, number>;
}

/** An entry head no longer has, with the versions it was part of: `from_version` <= v < `to_version`. */
export interface FileHistoryTable {
  space_id: string;
  name: string;
  from_version: number;
  to_version: number;
  type: string;
  size: BigIntColumn;
  content_type: string;
  hash: string;
  uploaded_by: string;
  created_at: string;
}

/** One version of a space. */
export interface SnapshotsTable {
  space_id: string;
  version: number;
  parent: number | null;
  /** The user id of who committed it. */
  author: string;
  message: ColumnType<string, string | undefined, string>;
  created_at: string;
  added: BigIntColumn;
  changed: BigIntColumn;
  removed: BigIntColumn;
  /** Entries of the snapshot, and their bytes (a blob named twice counts twice). */
  files: BigIntColumn;
  bytes: BigIntColumn;
  /** Filled in when first computed. */
  manifest_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the retention dropped the snapshot's entries. */
  dropped_at: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A commit being built in batches. */
export interface DraftsTable {
  id: string;
  namespace_id: string;
  /** The space's name (the space is created at commit when missing). */
  space: string;
  created_by: string;
  parent: number | null;
  message: ColumnType<string, string | undefined, string>;
  created_at: string;
  expires_at: string;
}

/** One change of a draft: `op` `put` (hash, size, type, content_type set) or `delete`; `prefix` 1 deletes every name under `name`. */
export interface DraftEntriesTable {
  draft_id: string;
  prefix: number;
  name: string;
  op: 'put' | 'delete';
  type: string | null;
  size: ColumnType<number | string | null, number | null, number | null>;
  content_type: string | null;
  hash: string | null;
}

export interface AccessTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** Space-separated scopes (`read`, `write`, `admin`). */
  scopes: ColumnType<string, string | undefined, string>;
  expires_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** The token that minted this one; null when a login session or a password did. */
  parent_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** For a token a login session minted without the password: the user's token epoch then (it ends with the session). */
  session_epoch: ColumnType<number | null, number | null | undefined, number | null>;
}

/** The audit log of upload grants (`POST /uploads/init`, each answered entry of `POST /uploads/batch`). */
export interface UploadGrantsTable {
  id: string;
  user_id: string;
  username: string;
  namespace: string;
  space: string;
  hash: string;
  filename: string;
  type: string;
  size: BigIntColumn | null;
  content_type: string;
  /** `granted` (URLs signed) or `exists` (dedup answer). */
  outcome: string;
  ip: string;
  created_at: string;
}

export interface LoginFailuresTable {
  id: string;
  username: string;
  ip: string;
  created_at: string;
}

/** Per username and client (IPv4 address or IPv6 /64): its last login, and the back-off's pacing of it. */
export interface LoginClientsTable {
  username: string;
  client: string;
  trusted_at: string | null;
  paced_at: string | null;
}

export interface SignupAttemptsTable {
  id: string;
  ip: string;
  created_at: string;
}

export interface Database {
  users: UsersTable;
  namespaces: NamespacesTable;
  memberships: MembershipsTable;
  spaces: SpacesTable;
  files: FilesTable;
  access_tokens: AccessTokensTable;
  upload_grants: UploadGrantsTable;
  login_failures: LoginFailuresTable;
  signup_attempts: SignupAttemptsTable;
  login_clients: LoginClientsTable;
  file_history: FileHistoryTable;
  snapshots: SnapshotsTable;
  drafts: DraftsTable;
  draft_entries: DraftEntriesTable;
  shares: SharesTable;
  share_uses: ShareUsesTable;
  namespace_usage: NamespaceUsageTable;
}

/** The bytes a namespace stores, kept up to date by each write (see namespaceUsage). */
export interface NamespaceUsageTable {
  namespace_id: string;
  stored_bytes: number | string;
}

/** A share link (only its secret's SHA-256 is kept); `version` null serves head at each use. */
export interface SharesTable {
  id: string;
  secret_hash: string;
  namespace_id: string;
  space_id: string;
  version: number | null;
  prefix: ColumnType<string, string | undefined, string>;
  created_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** Requests answered through the link, and files it handed out download URLs for. */
  uses: ColumnType<number | string, number | undefined, number>;
  downloads: ColumnType<number | string, number | undefined, number>;
  last_used_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** The rate limit's current window: when it started and the requests counted in it. */
  window_started_at: ColumnType<string | null, string | null | undefined, string | null>;
  window_uses: ColumnType<number, number | undefined, number>;
}

/** Every use of a share link: the file (null for a listing or a page) and the client. */
export interface ShareUsesTable {
  id: string;
  share_id: string;
  file: string | null;
  client: string;
  created_at: string;
}
