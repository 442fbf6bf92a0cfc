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
}
