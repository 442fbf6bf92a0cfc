import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../support/process.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, on its own port in a temp folder, that the test may stop
 * and start (the shared one at DREAMLAKE_TEST_PG_URL serves other tests meanwhile). PostgreSQL
 * refuses to run as root: as root, its programs run as the `postgres` user.
 */
export class PrivateCluster {
  readonly url: string;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    private readonly port: number,
    private readonly asUser: string | undefined,
  ) {
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** Why no cluster can be started here, or undefined when one can. */
  static unavailable(): string | undefined {
    if (!PrivateCluster.#bin()) return 'no PostgreSQL server programs under /usr/lib/postgresql/*/bin';
    if (process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
      return 'running as root without runuser to start PostgreSQL as another user';
    return undefined;
  }

  static #bin(): string | undefined {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    return versions.map((v) => join(root, v, 'bin')).find((bin) => existsSync(join(bin, 'pg_ctl')));
  }

  /** Makes a new cluster and starts it. */
  static async create(): Promise<PrivateCluster> {
    const bin = PrivateCluster.#bin();
    if (!bin) throw new Error(PrivateCluster.unavailable());
    const dir = await mkdtemp(join(tmpdir(), 'dreamlake-pg-'));
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
    if (asUser) {
      const { stdout } = await run('id', ['-u', asUser]);
      const { stdout: gid } = await run('id', ['-g', asUser]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const cluster = new PrivateCluster(bin, dir, await freePort(), asUser);
    await cluster.#pg('initdb', ['-D', cluster.#data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await cluster.start();
    return cluster;
  }

  get #data(): string {
    return join(this.dir, 'data');
  }

  async #pg(program: string, args: string[]): Promise<void> {
    const command = join(this.bin, program);
    const [file, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', command, ...args]] : [command, args];
    try {
      await run(file, argv, { cwd: this.dir });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${stderr || stdout || (error as Error).message}`);
    }
  }

  /** Starts the cluster and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off`;
    await this.#pg('pg_ctl', ['start', '-w', '-D', this.#data, '-l', join(this.dir, 'log'), '-o', options]);
  }

  /** Stops the cluster as an operator's restart does (fast: connections are terminated) and waits until it is down. */
  async stop(): Promise<void> {
    await this.#pg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.#data]);
  }

  /** Stops the cluster (if it runs) and removes it. */
  async destroy(): Promise<void> {
    await this.#pg('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', this.#data]).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
