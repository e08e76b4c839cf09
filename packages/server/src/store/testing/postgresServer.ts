import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A throwaway PostgreSQL cluster on loopback, for tests. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Creates an empty database; resolves to its URL. */
  createDatabase(): Promise<string>;
  /** Runs one statement on a database of `createDatabase`, on a connection of its own; resolves to its rows. */
  query(databaseUrl: string, sql: string, values?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Stops the server and removes its files; idempotent. */
  stop(): Promise<void>;
}

/** Where Debian's `postgresql` package puts each major version's programs. */
const debianRoot = '/usr/lib/postgresql';
const startTimeoutMs = 30_000;
/** What the server printed last, kept to explain a failed start. */
const maxLogChars = 16_384;

/**
 * Starts a PostgreSQL cluster of its own: `initdb` into a temporary folder, then `postgres` on a
 * free loopback port with its socket in that folder, tuned to start fast and lose everything
 * (no fsync). As root it runs as Debian's `postgres` user, which PostgreSQL requires.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'parlor-pg-'));
  const dataDir = join(dir, 'data');
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  let server: ChildProcess | undefined;
  let log = '';
  try {
    await run(
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
      owner,
    );
    const host = '127.0.0.1';
    const port = await freePort(host);
    const settings = {
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: '16MB',
      max_connections: '200',
      listen_addresses: host,
      port: String(port),
      unix_socket_directories: dir,
    };
    const args = [
      '-D',
      dataDir,
      ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ];
    server = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...owner });
    const keep = (chunk: Buffer): void => {
      log = (log + chunk.toString()).slice(-maxLogChars);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => server?.once('exit', resolve));
    await waitUntilReady(`postgres://postgres@${host}:${port}/postgres`, exited, () => log);
    return handle(server, exited, dir, host, port);
  } catch (error) {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function handle(
  server: ChildProcess,
  exited: Promise<number | null>,
  dir: string,
  host: string,
  port: number,
): PostgresServer {
  let databases = 0;
  let stopped: Promise<void> | null = null;
  return {
    host,
    port,
    async createDatabase() {
      const name = `parlor_test_${process.pid}_${++databases}`;
      const admin = new pg.Client({ connectionString: `postgres://postgres@${host}:${port}/postgres` });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `postgres://postgres@${host}:${port}/${name}`;
    },
    async query(databaseUrl, sql, values = []) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<Record<string, unknown>>(sql, [...values])).rows;
      } finally {
        await client.end();
      }
    },
    stop() {
      stopped ??= (async () => {
        // SIGINT: the fast shutdown, which ends the sessions still open.
        server.kill('SIGINT');
        const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** The newest installed major version's `bin` folder. */
function postgresBinaries(): string {
  const versions = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(debianRoot, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined)
    throw new Error(`PostgreSQL is not installed (${debianRoot}): apt-get install postgresql`);
  return join(debianRoot, versions[0], 'bin');
}

/** Debian's `postgres` user, which the package creates. */
function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('there is no postgres user to run PostgreSQL as root');
  return { uid: Number(uid), gid: Number(gid) };
}

function run(
  command: string,
  args: readonly string[],
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...owner });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-maxLogChars)));
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-maxLogChars)));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} exited with ${code}: ${output}`));
    });
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => {
        resolve(port);
      });
    });
  });
}

/** Connects until the server answers; fails when it exits or takes too long. */
async function waitUntilReady(url: string, exited: Promise<number | null>, log: () => string): Promise<void> {
  const server = { gone: false };
  void exited.then(() => (server.gone = true));
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (server.gone) throw new Error(`postgres exited at start: ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline)
      throw new Error(`postgres did not start within ${startTimeoutMs} ms: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
