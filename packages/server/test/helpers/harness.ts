import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import {
  buildServerApp,
  type DB,
  type Engine,
  loadServerConfig,
  openDatabase,
  type ServerConfig,
} from '../../src/index.ts';
import { createTestDatabase, type TestDatabase } from './engines.ts';
import { type FakeBss, startFakeBss } from './fake-bss.ts';

export const PRESIGN_SECRET = 'test-presign-secret-0123456789abcdef0123';
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789';
export const PUBLIC_BSS = 'http://bss.example.test:10234';
/** The Ed25519 seed (base64url) test servers sign snapshot receipts with. */
export const SNAPSHOT_SIGNING_KEY = Buffer.alloc(32, 7).toString('base64url');

export function testConfig(overrides: Partial<ServerConfig> = {}): Readonly<ServerConfig> {
  return loadServerConfig(
    {},
    {
      presignSecrets: [PRESIGN_SECRET],
      jwtSecret: JWT_SECRET,
      snapshotSigningKeys: [SNAPSHOT_SIGNING_KEY],
      logLevel: 'silent',
      scryptLogN: 10,
      allowSignup: true,
      bssPublicUrl: PUBLIC_BSS,
      // Every test user signs up from the same address.
      login: {
        maxFailuresPerUser: 10,
        maxFailuresPerAddress: 50,
        maxFailuresPerUserGlobal: 100,
        maxSignupsPerAddress: 1_000_000,
        windowSeconds: 900,
      },
      ...overrides,
    },
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface Harness {
  engine: Engine;
  app: FastifyInstance;
  db: DB;
  config: Readonly<ServerConfig>;
  bss: FakeBss;
  /** The app's clock in ms; tests move it. */
  clock: { now: number };
  /** Signs up a fresh user (unique name from `base`) and answers their name and JWT. */
  user(base: string): Promise<{ name: string; token: string }>;
  call(
    method: string,
    url: string,
    token?: string,
    body?: unknown,
    remoteAddress?: string,
  ): Promise<LightMyRequestResponse>;
}

let counter = 0;

/**
 * One app on one fresh database of `engine`, with a fake BSS, built before the suite's tests
 * and torn down after them. Call it inside `forEachEngine`.
 */
export function useHarness(engine: Engine, overrides: (bssUrl: string) => Partial<ServerConfig> = () => ({})): Harness {
  const h = { engine, clock: { now: Date.parse('2026-11-28T12:00:00Z') } } as Harness;
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(engine);
    h.bss = await startFakeBss([PRESIGN_SECRET], () => Math.floor(h.clock.now / 1000));
    h.config = testConfig({ databaseUrl: database.url, bssInternalUrl: h.bss.url, ...overrides(h.bss.url) });
    h.db = await openDatabase(h.config);
    h.app = await buildServerApp({ config: h.config, db: h.db, clock: () => h.clock.now });
  });
  after(async () => {
    await h.app?.close();
    await h.db?.destroy();
    await h.bss?.close();
    await database?.drop();
  });
  h.call = (method, url, token, body, remoteAddress) =>
    h.app.inject({
      method: method as 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(body === undefined ? {} : { payload: body as object }),
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  h.user = async (base) => {
    const name = `${base}${++counter}`;
    const res = await h.call('POST', '/auth/signup', undefined, { username: name, password: 'correct horse battery' });
    assert.equal(res.statusCode, 201, res.body);
    return { name, token: res.json().token as string };
  };
  return h;
}
