import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import type { VerifiedToken } from '@parlor/server';
import { startTestServer, type TestServer } from '@parlor/server/testing';

// The official `opentok` npm package, pointed at a listening Parlor by its apiUrl.

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer();
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => parlor.dispose());

function createSession(client: OpenTok, options: OpenTok.SessionOptions): Promise<{ sessionId: string }> {
  return new Promise((resolve, reject) => {
    client.createSession(options, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session);
    });
  });
}

describe('the official opentok SDK', () => {
  it('creates relayed, routed, always-archived and location-hinted sessions', async () => {
    const cases: [OpenTok.SessionOptions, object][] = [
      [{}, { mediaMode: 'relayed', archiveMode: 'manual', location: null }],
      [{ mediaMode: 'routed' }, { mediaMode: 'routed', archiveMode: 'manual', location: null }],
      [
        { mediaMode: 'routed', archiveMode: 'always' },
        { mediaMode: 'routed', archiveMode: 'always', location: null },
      ],
      [
        { mediaMode: 'routed', location: '12.34.56.78' },
        { mediaMode: 'routed', archiveMode: 'manual', location: '12.34.56.78' },
      ],
      [
        { mediaMode: 'routed', e2ee: true },
        { mediaMode: 'routed', e2ee: true },
      ],
    ];
    for (const [options, expected] of cases) {
      const { sessionId } = await createSession(opentok, options);
      const stored = await parlor.server.sessions.get(parlor.apiKey, sessionId);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(stored[key as keyof typeof stored], value, `${JSON.stringify(options)}: ${key}`);
      }
    }
  });

  it('gets an error for wrong credentials', async () => {
    const intruder = new OpenTok(parlor.apiKey, 'f'.repeat(40), { apiUrl: parlor.url });
    await assert.rejects(createSession(intruder, { mediaMode: 'routed' }), /Failed to createSession/);
  });

  it('lists the streams of a session', async () => {
    const { sessionId } = await createSession(opentok, { mediaMode: 'routed' });
    const listStreams = promisify(opentok.listStreams.bind(opentok));
    assert.deepEqual(await listStreams(sessionId), []);
  });

  for (const legacy of [false, true]) {
    const format = legacy ? 't1' : 'jwt';
    it(`makes ${format} tokens for every role, with data and expiry, that Parlor verifies`, async () => {
      const { sessionId } = await createSession(opentok, { mediaMode: 'routed' });
      const expireTime = Math.floor(Date.now() / 1000) + 3600;
      for (const role of ['publisher', 'subscriber', 'moderator', 'publisheronly']) {
        const data = `name=Alice & role=${role} ✓`;
        const token = opentok.generateToken(
          sessionId,
          { role, data, expireTime, initialLayoutClassList: ['focus', 'big'] },
          legacy,
        );
        assert.equal(token.startsWith('T1=='), legacy);
        const verified: VerifiedToken = await parlor.server.tokens.verify(token);
        assert.equal(verified.format, format);
        assert.equal(verified.sessionId, sessionId);
        assert.equal(verified.apiKey, parlor.apiKey);
        assert.equal(verified.role, role);
        assert.equal(verified.connectionData, data);
        assert.equal(verified.expiresAt, expireTime);
        assert.deepEqual(verified.initialLayoutClassList, ['focus', 'big']);
      }
      const plain = await parlor.server.tokens.verify(opentok.generateToken(sessionId, undefined, legacy));
      assert.equal(plain.role, 'publisher');
      assert.equal(plain.connectionData, '');
      // opentok-node rounds the expiry but floors iat, so a day may count one second more.
      assert.ok(Math.abs(plain.expiresAt - plain.issuedAt - 86400) <= 1);
    });

    it(`makes ${format} tokens that Parlor refuses when expired, tampered or for another project's session`, async () => {
      const { sessionId } = await createSession(opentok, { mediaMode: 'routed' });
      const token = opentok.generateToken(sessionId, { role: 'publisher' }, legacy);

      // Expired: the SDK refuses to make a token that is already expired, so let time pass.
      const shortLived = opentok.generateToken(
        sessionId,
        { expireTime: Math.floor(Date.now() / 1000) + 1 },
        legacy,
      );
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal(await parlor.tokenRefusal(shortLived), 'expired');

      const tampered = legacy ? tamperT1(token) : tamperJwt(token);
      assert.equal(await parlor.tokenRefusal(tampered), 'bad-signature');

      const otherProject = await parlor.server.projects.create('Other');
      const otherClient = new OpenTok(otherProject.apiKey, otherProject.apiSecret, { apiUrl: parlor.url });
      // A token signed with this project's secret for the other project's session.
      const { sessionId: foreignSession } = await createSession(otherClient, { mediaMode: 'routed' });
      const forged = forgeForSession(token, sessionId, foreignSession, legacy);
      assert.equal(await parlor.tokenRefusal(forged), 'wrong-project');
    });
  }
});

function tamperJwt(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
  claims.role = 'moderator';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

function tamperT1(token: string): string {
  const decoded = Buffer.from(token.slice(4), 'base64').toString();
  return 'T1==' + Buffer.from(decoded.replace('role=publisher', 'role=moderator')).toString('base64');
}

/**
 * The same token re-signed with its own project's secret but naming another session (the SDK
 * refuses to sign for a session of another key, so it is built by hand).
 */
function forgeForSession(token: string, from: string, to: string, legacy: boolean): string {
  if (legacy) {
    const decoded = Buffer.from(token.slice(4), 'base64').toString();
    const data = decoded.slice(decoded.indexOf(':') + 1).replace(from, to);
    const sig = createHmac('sha1', parlor.apiSecret).update(data).digest('hex');
    return 'T1==' + Buffer.from(`partner_id=${parlor.apiKey}&sig=${sig}:${data}`).toString('base64');
  }
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as object;
  return jwt.sign({ ...claims, session_id: to }, parlor.apiSecret, { algorithm: 'HS256' });
}
