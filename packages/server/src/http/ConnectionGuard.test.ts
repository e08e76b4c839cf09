import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConnectionGuard, type ConnectionGuardOptions } from './ConnectionGuard.js';

const logger = pino({ level: 'silent' });

interface Bed {
  readonly server: Server;
  readonly guard: ConnectionGuard;
  readonly port: number;
  /** Answers of `/hold` requests, held until the test sends them. */
  readonly held: ServerResponse[];
}

let bed: Bed | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (!bed) return;
  for (const response of bed.held) response.end();
  bed.guard.close();
  bed.server.closeAllConnections();
  await new Promise((resolve) => bed?.server.close(resolve));
  bed = null;
});

async function startBed(options: Omit<ConnectionGuardOptions, 'logger'>): Promise<Bed> {
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    if (request.url === '/hold') held.push(response);
    else response.end('ok');
  });
  server.on('upgrade', (_request, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    socket.on('end', () => socket.destroy());
  });
  const guard = new ConnectionGuard(server, { ...options, logger });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bed = { server, guard, port: (server.address() as AddressInfo).port, held };
  return bed;
}

interface Client {
  readonly socket: Socket;
  readonly received: () => string;
  readonly isClosed: () => boolean;
}

/** A raw connection from `from` that sends `text`; resolves once the server has seen it. */
async function open(port: number, text: string, from = '127.0.0.2'): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  sockets.push(socket);
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  if (text !== '') socket.write(text);
  await settle();
  return { socket, received: () => received, isClosed: () => closed };
}

/** Lets the server (in this process) accept and read what was sent: a while, then a few turns of I/O polling. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`;

describe('ConnectionGuard', () => {
  it('at the connection cap, a newcomer evicts the connection that has waited longest for its client', async () => {
    const { port, guard } = await startBed({ maxConnections: 3 });
    const silent = await open(port, '');
    const halfHeader = await open(port, 'GET / HTTP/1.1\r\nHost: te');
    const answered = await open(port, get('/')); // Idle since its answer: waiting for its client again.
    const newcomer = await open(port, get('/'));
    assert.equal(silent.isClosed(), true);
    assert.equal(halfHeader.isClosed(), false);
    assert.equal(answered.isClosed(), false);
    assert.match(newcomer.received(), /^HTTP\/1\.1 200 /);
    const next = await open(port, get('/'));
    assert.equal(halfHeader.isClosed(), true);
    assert.match(next.received(), /^HTTP\/1\.1 200 /);
    assert.deepEqual(guard.closures, { addressPending: 0, addressTotal: 0, evicted: 2, full: 0 });
  });

  it('at the connection cap, with every connection being answered or upgraded, a newcomer is refused', async () => {
    const { port, guard, held } = await startBed({ maxConnections: 2 });
    await open(port, get('/hold'));
    const upgraded = await open(
      port,
      'GET / HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n',
    );
    const refused = await open(port, get('/'));
    assert.equal(refused.isClosed(), true);
    assert.equal(refused.received(), '');
    assert.equal(upgraded.isClosed(), false);
    assert.equal(guard.closures.full, 1);
    // Once answered, the held one waits for its client again, and is the one to go.
    held[0]?.end('done');
    await settle();
    assert.match((await open(port, get('/'))).received(), /^HTTP\/1\.1 200 /);
    assert.equal(upgraded.isClosed(), false);
  });

  it("closes at once a client's connections past the per-address caps, and counts another address apart", async () => {
    const { port, guard } = await startBed({ maxPendingPerAddress: 2, maxPerAddress: 4, pendingGraceMs: 0 });
    await open(port, '');
    await open(port, 'GET / HTT');
    assert.equal((await open(port, get('/'))).isClosed(), true, 'a third pending one is closed');
    assert.match((await open(port, get('/'), '127.0.0.3')).received(), /^HTTP\/1\.1 200 /);
    const answered = await open(port, get('/'), '127.0.0.3');
    assert.match(answered.received(), /^HTTP\/1\.1 200 /);
    await open(port, 'GET / HTTP/1.1\r\n', '127.0.0.3');
    await open(port, '', '127.0.0.3');
    assert.equal((await open(port, get('/'), '127.0.0.3')).isClosed(), true, 'a fifth one is closed');
    assert.deepEqual(guard.closures, { addressPending: 1, addressTotal: 1, evicted: 0, full: 0 });
    assert.equal(guard.connections, 6);
  });

  it('accepts a burst of connections from one address, and counts those still incomplete after the grace as pending', async () => {
    const { port, guard } = await startBed({ maxPendingPerAddress: 2, pendingGraceMs: 300 });
    const burst = await Promise.all(Array.from({ length: 5 }, () => open(port, 'GET / HTTP/1.1\r\n')));
    assert.deepEqual(
      burst.map((client) => client.isClosed()),
      [false, false, false, false, false],
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await open(port, get('/'))).isClosed(), true);
    assert.equal(guard.closures.addressPending, 1);
  });
});
