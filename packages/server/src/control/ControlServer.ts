import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import { isCallbackKindName } from '../console/testCallback.js';
import {
  maxControlRequestBytes,
  type ControlAnswer,
  type ControlOperation,
  type ControlOperations,
  type ControlRequest,
} from './controlProtocol.js';

/** What the server does for each operation. */
export type ControlHandlers = {
  readonly [Op in ControlOperation]: (
    request: ControlOperations[Op]['request'],
  ) => Promise<ControlOperations[Op]['answer']>;
};

export interface ControlServerOptions {
  /** The socket's path (`controlSocketPath(dataDir)`); its directory is made, or narrowed, to mode 0700. */
  readonly path: string;
  readonly handlers: ControlHandlers;
  readonly logger: Logger;
  /** How long a client may take to send its request, and the server to answer it, in ms. Default: 5000. */
  readonly timeoutMs?: number;
  /** Connections served at once; the server closes those past it at once. Default: 8. */
  readonly maxConnections?: number;
}

/**
 * The server's end of the local control channel (`controlProtocol.ts`). Only the owner of the
 * data directory can connect: the socket (mode 0600) sits in a directory of mode 0700 that
 * must be theirs, made before the socket exists, so there is no moment when others could.
 */
export class ControlServer {
  readonly #server: Server;
  readonly #path: string;
  readonly #handlers: ControlHandlers;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  private constructor(server: Server, options: ControlServerOptions) {
    this.#server = server;
    this.#path = options.path;
    this.#handlers = options.handlers;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /**
   * Listens on the path, replacing a socket left by a server that died. Resolves to null, with a
   * warning, when it cannot (another server answers there, the directory is not the owner's, the
   * path is too long for a socket): the server then runs without it.
   */
  static async listen(options: ControlServerOptions): Promise<ControlServer | null> {
    const logger = options.logger.child({ component: 'control', path: options.path });
    const problem = await prepare(options.path);
    if (problem !== null) {
      logger.warn({ problem }, 'no local control channel: the CLI cannot reach this server');
      return null;
    }
    const server = createServer();
    server.maxConnections = options.maxConnections ?? 8;
    const control = new ControlServer(server, { ...options, logger });
    server.on('connection', (socket) => {
      control.#serve(socket);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path: options.path, readableAll: false, writableAll: false }, resolve);
      });
      chmodSync(options.path, 0o600);
    } catch (error) {
      server.close();
      logger.warn({ err: error }, 'no local control channel: the CLI cannot reach this server');
      return null;
    }
    server.on('error', (error) => {
      logger.warn({ err: error }, 'the local control channel failed');
    });
    return control;
  }

  /** Stops listening, drops the connections under way and removes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
    rmSync(this.#path, { force: true });
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // A client gone before its answer: nothing to tell it.
    socket.on('error', () => undefined);
    socket.setTimeout(this.#timeoutMs, () => socket.destroy());
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      const newline = chunk.indexOf(0x0a);
      const part = newline === -1 ? chunk : chunk.subarray(0, newline);
      chunks.push(part);
      length += part.length;
      const tooLong = length >= maxControlRequestBytes;
      if (newline === -1 && !tooLong) return;
      socket.off('data', onData);
      socket.pause();
      const answer = tooLong
        ? Promise.resolve(refusal(`a request is one line of at most ${maxControlRequestBytes} bytes`))
        : this.#answer(Buffer.concat(chunks));
      void answer.then((each) => socket.end(`${JSON.stringify(each)}\n`));
    };
    socket.on('data', onData);
  }

  async #answer(line: Buffer): Promise<ControlAnswer> {
    try {
      const request = parseRequest(line);
      this.#logger.info({ op: request.op, apiKey: request.apiKey }, 'control request');
      // The request was checked against its operation's shape.
      const handle = this.#handlers[request.op] as (request: ControlRequest) => Promise<object>;
      return { ok: true, ...(await handle(request)) } as ControlAnswer;
    } catch (error) {
      if (error instanceof ParlorError) return { ok: false, error: error.id, message: error.message };
      this.#logger.error({ err: error }, 'a control request failed');
      const internal = new ParlorError('INTERNAL', 'see the server log');
      return { ok: false, error: internal.id, message: internal.message };
    }
  }
}

function refusal(detail: string): ControlAnswer {
  const error = new ParlorError('INVALID_REQUEST', detail);
  return { ok: false, error: error.id, message: error.message };
}

/** Checks a request line: a known operation with the fields it needs, of their types. */
function parseRequest(line: Buffer): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    throw new ParlorError('INVALID_REQUEST', 'a request is a JSON object on one line');
  }
  const { op, apiKey, kind, archiveId } = (
    typeof value === 'object' && value !== null ? value : {}
  ) as Record<string, unknown>;
  // An API key, or a Vonage application's ID.
  if (typeof apiKey !== 'string' || !/^[\w-]{1,64}$/.test(apiKey))
    throw new ParlorError('INVALID_REQUEST', 'apiKey must be a project API key');
  if (op === 'disconnectProject' || op === 'recentSessions') return { op, apiKey };
  if (op === 'testCallback') {
    if (!isCallbackKindName(kind))
      throw new ParlorError('INVALID_REQUEST', 'kind must be session, archive or sip');
    return { op, apiKey, kind };
  }
  if (op === 'deleteArchive') {
    if (typeof archiveId !== 'string' || !/^[\w-]{1,64}$/.test(archiveId))
      throw new ParlorError('INVALID_REQUEST', 'archiveId must be an archive ID');
    return { op, apiKey, archiveId };
  }
  throw new ParlorError(
    'INVALID_REQUEST',
    'op must be disconnectProject, testCallback, recentSessions or deleteArchive',
  );
}

/**
 * Makes the socket's directory the owner's only, and clears a socket left by a dead server;
 * the reason when the channel cannot be opened, else null.
 */
async function prepare(path: string): Promise<string | null> {
  // sun_path holds 108 bytes with its terminating zero.
  if (Buffer.byteLength(path) > 107) return 'the data directory’s path is too long for a Unix socket';
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.())
    return `${dir} must be a directory of the user running the server`;
  chmodSync(dir, 0o700);
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing === undefined) return null;
  if (!existing.isSocket()) return `${path} exists and is not a socket`;
  if (await answers(path)) return 'another server listens on this data directory’s control socket';
  rmSync(path, { force: true });
  return null;
}

/** Whether something accepts connections on the socket. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      resolve(false);
    });
  });
}
