/**
 * A fault-injecting HTTP proxy in front of a real S3 server, for tests: BSS's S3 endpoint (and so
 * every presigned URL it signs) points at the proxy, which forwards each request untouched (the
 * Host header included, so signatures still match) unless a rule picks it for a fault:
 *
 * - `slowdown`: 503 SlowDown with S3's XML error body;
 * - `internal`: 500 InternalError, the same way;
 * - `reset`: the connection is reset (TCP RST) without an answer;
 * - `stall`: no answer at all, until the client gives up or `release()`/`close()` is called;
 * - `lost`: the request goes to S3 and is carried out, then its answer is dropped and the
 *   connection reset (the client cannot tell it from a `reset` that never arrived).
 *
 * A request faulted in any other way never reaches S3 (its body is read and dropped first, as S3
 * would before answering), so only `lost` half-applies, on purpose. Which requests fail is deterministic: with share `s`
 * the n-th request of a kind fails when ⌈n·s⌉ > ⌈(n−1)·s⌉ (the 1st, 11th, 21st… for 0.1, all for 1), or,
 * with a seed, when a seeded generator draws below `s`. Faults are taken in turn from the rule's list.
 */
import { once } from 'node:events';
import {
  createServer,
  Agent as HttpAgent,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a request asks S3 to do, from its method, query and headers. */
export type S3RequestKind =
  | 'create' // CreateMultipartUpload
  | 'part' // UploadPart
  | 'copy' // UploadPartCopy, CopyObject
  | 'complete' // CompleteMultipartUpload
  | 'abort' // AbortMultipartUpload
  | 'put' // PutObject
  | 'get' // GetObject (whole or a range)
  | 'head' // HeadObject, HeadBucket
  | 'delete' // DeleteObject(s)
  | 'list'; // ListObjectsV2, ListMultipartUploads, ListParts, bucket reads

export const S3_REQUEST_KINDS: readonly S3RequestKind[] = [
  'create',
  'part',
  'copy',
  'complete',
  'abort',
  'put',
  'get',
  'head',
  'delete',
  'list',
];

export type S3Fault = 'slowdown' | 'internal' | 'reset' | 'stall' | 'lost';

export interface FaultRule {
  kinds: readonly S3RequestKind[];
  /** The share of these requests that fail, 0..1. */
  share: number;
  /** Taken in turn, one per faulted request of a kind. */
  faults: readonly S3Fault[];
  /**
   * Only requests signed in their URL (true: a client's PUT through a presigned URL) or only those
   * signed in a header (false: BSS's own SDK calls); both when absent.
   */
  presigned?: boolean;
  /** Picks by a seeded generator instead of evenly spaced. */
  seed?: number;
  /** At most this many faults of each kind by this rule (no limit when absent). */
  times?: number;
}

/** One request the proxy saw: its kind, path (the bucket and key), and the fault it got. */
export interface SeenRequest {
  kind: S3RequestKind;
  path: string;
  fault: S3Fault | null;
}

export interface KindCounts {
  requests: number;
  faults: Record<S3Fault, number>;
}

export function classifyS3Request(method: string, url: URL, headers: IncomingMessage['headers']): S3RequestKind {
  const q = url.searchParams;
  const objectLevel = url.pathname.replace(/^\/+/, '').includes('/');
  if (!objectLevel) {
    if (method === 'HEAD') return 'head';
    if (method === 'POST' && q.has('delete')) return 'delete';
    return 'list';
  }
  switch (method) {
    case 'POST':
      if (q.has('uploads')) return 'create';
      if (q.has('uploadId')) return 'complete';
      return 'put';
    case 'PUT':
      if (headers['x-amz-copy-source'] !== undefined) return 'copy';
      if (q.has('partNumber') && q.has('uploadId')) return 'part';
      return 'put';
    case 'GET':
      return q.has('uploadId') ? 'list' : 'get';
    case 'HEAD':
      return 'head';
    case 'DELETE':
      return q.has('uploadId') ? 'abort' : 'delete';
    default:
      return 'list';
  }
}

const ERROR_BODIES: Record<'slowdown' | 'internal', { status: number; code: string; message: string }> = {
  slowdown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  internal: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
};

/** A seeded generator (mulberry32): the same seed, the same picks. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function emptyCounts(): KindCounts {
  return { requests: 0, faults: { slowdown: 0, internal: 0, reset: 0, stall: 0, lost: 0 } };
}

export class S3FaultProxy {
  readonly url: string;
  readonly #server: Server;
  readonly #target: URL;
  readonly #agent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
  readonly #counts = new Map<S3RequestKind, KindCounts>();
  /** Per rule and kind: requests seen and faults given (for spacing and turns). */
  #seen = new Map<string, { n: number; given: number }>();
  #rules: { rule: FaultRule; random: (() => number) | null }[] = [];
  readonly #stalled = new Set<Socket>();
  #stallWaiters: (() => void)[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #log: SeenRequest[] = [];

  private constructor(server: Server, target: URL, url: string) {
    this.#server = server;
    this.#target = target;
    this.url = url;
    for (const kind of S3_REQUEST_KINDS) this.#counts.set(kind, emptyCounts());
  }

  /** Listens on a free loopback port in front of `target` (an `http://host:port` S3 endpoint). */
  static async start(target: string): Promise<S3FaultProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const proxy = new S3FaultProxy(server, new URL(target), `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => proxy.#handle(req, res));
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket);
      socket.once('close', () => {
        proxy.#sockets.delete(socket);
        proxy.#stalled.delete(socket);
      });
    });
    return proxy;
  }

  /**
   * Faults from now on by these rules (none: no faults); a request takes the first rule that
   * covers it. The turn and spacing counters start over.
   */
  inject(...rules: FaultRule[]): void {
    for (const rule of rules) {
      if (!(rule.share >= 0 && rule.share <= 1)) throw new RangeError('share must be in 0..1');
      if (rule.faults.length === 0) throw new RangeError('a rule needs at least one fault');
    }
    this.#rules = rules.map((rule) => ({ rule, random: rule.seed !== undefined ? seeded(rule.seed) : null }));
    this.#seen = new Map();
  }

  /** Requests seen and faults injected, by kind, since the proxy started. */
  counts(): Record<S3RequestKind, KindCounts> {
    const out = {} as Record<S3RequestKind, KindCounts>;
    for (const [kind, c] of this.#counts) out[kind] = { requests: c.requests, faults: { ...c.faults } };
    return out;
  }

  /** Every request seen since the proxy started, in order. */
  requests(): readonly SeenRequest[] {
    return this.#log;
  }

  /** Faults injected in all, by fault. */
  totalFaults(): Record<S3Fault, number> {
    const total = emptyCounts().faults;
    for (const c of this.#counts.values()) for (const f of Object.keys(total) as S3Fault[]) total[f] += c.faults[f];
    return total;
  }

  /** How many stalled requests are being held right now. */
  get stalled(): number {
    return this.#stalled.size;
  }

  /** Resolves once a request is being held by a stall. */
  whenStalled(): Promise<void> {
    if (this.#stalled.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.#stallWaiters.push(resolve));
  }

  /** Drops every stalled connection (its client sees the connection close without an answer). */
  release(): void {
    for (const socket of this.#stalled) socket.destroy();
    this.#stalled.clear();
  }

  async close(): Promise<void> {
    this.inject();
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
    await once(this.#server, 'close');
    this.#agent.destroy();
  }

  #pick(kind: S3RequestKind, presigned: boolean): S3Fault | null {
    const index = this.#rules.findIndex(
      ({ rule }) => rule.kinds.includes(kind) && (rule.presigned === undefined || rule.presigned === presigned),
    );
    if (index < 0) return null;
    const { rule, random } = this.#rules[index]!;
    const seen = this.#seen.get(`${index}:${kind}`) ?? { n: 0, given: 0 };
    this.#seen.set(`${index}:${kind}`, seen);
    seen.n += 1;
    const hit = random ? random() < rule.share : Math.ceil(seen.n * rule.share) > Math.ceil((seen.n - 1) * rule.share);
    if (!hit || (rule.times !== undefined && seen.given >= rule.times)) return null;
    const fault = rule.faults[seen.given % rule.faults.length]!;
    seen.given += 1;
    return fault;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const kind = classifyS3Request(req.method ?? 'GET', url, req.headers);
    const counts = this.#counts.get(kind)!;
    counts.requests += 1;
    const fault = this.#pick(kind, url.searchParams.has('X-Amz-Signature'));
    this.#log.push({ kind, path: url.pathname, fault });
    if (fault === null || fault === 'lost') {
      if (fault === 'lost') counts.faults.lost += 1;
      this.#forward(req, res, fault === 'lost');
      return;
    }
    counts.faults[fault] += 1;
    // The body is read and dropped first: the client is then waiting for an answer, as with S3.
    req.resume();
    req.once('end', () => this.#fail(req, res, fault));
    req.once('error', () => {});
  }

  #fail(req: IncomingMessage, res: ServerResponse, fault: Exclude<S3Fault, 'lost'>): void {
    const socket = req.socket;
    switch (fault) {
      case 'reset':
        socket.resetAndDestroy();
        return;
      case 'stall':
        this.#stalled.add(socket);
        for (const wake of this.#stallWaiters.splice(0)) wake();
        return;
      default: {
        const { status, code, message } = ERROR_BODIES[fault];
        const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
        res.writeHead(status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
          'x-amz-request-id': 'fault-proxy',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      }
    }
  }

  /** Passes the request to S3 and its answer back, or, when `lose`, resets once S3 has answered. */
  #forward(req: IncomingMessage, res: ServerResponse, lose = false): void {
    const upstream = request(
      {
        host: this.#target.hostname,
        port: this.#target.port || 80,
        method: req.method,
        path: req.url,
        // Host as the client sent it: S3 checks the signature against it.
        headers: req.headers,
        agent: this.#agent,
      },
      (answer) => {
        if (lose) {
          answer.resume();
          answer.once('end', () => req.socket.resetAndDestroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      },
    );
    upstream.once('error', () => res.destroy());
    req.once('error', () => upstream.destroy());
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
