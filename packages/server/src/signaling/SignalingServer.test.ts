import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { ClientTokenVerifier, VerifiedToken } from '../auth/ClientTokenVerifier.js';
import type { SessionService } from '../sessions/SessionService.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import { SignalingServer } from './SignalingServer.js';
import { SignalingTestClient } from './SignalingTestClient.js';

// The endpoint's timers, with short intervals: a bare Fastify app, a token verifier and a
// session service that accept everything.

const session: SessionRecord = {
  sessionId: '1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg',
  apiKey: '12345678',
  origin: 'api',
  createdAt: 0,
  mediaMode: 'relayed',
  archiveMode: 'manual',
  location: null,
  e2ee: false,
  archiveName: null,
  archiveResolution: null,
};
const token: VerifiedToken = {
  format: 'jwt',
  apiKey: session.apiKey,
  sessionId: session.sessionId,
  role: 'publisher',
  connectionData: '',
  initialLayoutClassList: [],
  issuedAt: 0,
  expiresAt: 0,
};

let app: FastifyInstance;
let signaling: SignalingServer;
let url: string;

before(async () => {
  signaling = new SignalingServer({
    sessions: { get: () => session } as unknown as SessionService,
    tokens: { verify: () => token } as unknown as ClientTokenVerifier,
    logger: pino({ level: 'silent' }),
    connectTimeoutMs: 100,
    pingIntervalMs: 50,
  });
  app = Fastify();
  await app.register(signaling.plugin);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  signaling.close();
  await app.close();
});

describe('SignalingServer', () => {
  it('closes a socket that does not connect in time with 1008', async () => {
    const idle = await SignalingTestClient.open(url);
    assert.deepEqual(await idle.closed, { code: 1008, reason: 'connect timed out' });
  });

  it('cuts off a client that stops answering pings, whose connection then waits to be resumed', async () => {
    const client = await SignalingTestClient.connect(url, session.sessionId, 'any token');
    const connection = signaling.rooms.get(session.sessionId)?.connection(client.connectionId);
    assert.ok(connection);
    const away = new Promise((resolve) => connection.observer.once('stateChange', resolve));
    client.socket.pause();
    assert.equal(await away, 'away');
    await client.drop();
    connection.close('networkDisconnected');
  });
});
