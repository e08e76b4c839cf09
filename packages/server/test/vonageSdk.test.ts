import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MediaMode, Video } from '@vonage/video';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import { OpenTok as ParlorOpenTok, ArgumentError } from '@parlor/server-sdk';
import { startTestServer, type TestServer } from '@parlor/server/testing';

// Vonage application credentials: `@vonage/video`, opentok-node's Vonage mode and our SDK,
// each pointed at a listening Parlor.

let parlor: TestServer;
let applicationId: string;
let privateKey: string;
let video: Video;

before(async () => {
  parlor = await startTestServer();
  const created = await parlor.server.applications.create('Vonage app');
  applicationId = created.application.applicationId;
  assert.ok(created.privateKey);
  privateKey = created.privateKey;
  video = new Video({ applicationId, privateKey }, { videoHost: parlor.url });
});
after(() => parlor.dispose());

function bearer(claims: object, key: string, algorithm: jwt.Algorithm = 'RS256'): Record<string, string> {
  return { Authorization: `Bearer ${jwt.sign(claims, key, { algorithm })}`, Accept: 'application/json' };
}

describe('@vonage/video pointed at Parlor', () => {
  it('creates routed sessions by default and relayed ones on request, with location=null as none', async () => {
    const routed = await video.createSession();
    const stored = await parlor.server.sessions.get(applicationId, routed.sessionId);
    assert.equal(stored.mediaMode, 'routed');
    assert.equal(stored.location, null);
    const relayed = await video.createSession({ mediaMode: MediaMode.RELAYED });
    assert.equal((await parlor.server.sessions.get(applicationId, relayed.sessionId)).mediaMode, 'relayed');
  });

  it('makes client tokens for every role that Parlor verifies', async () => {
    const { sessionId } = await video.createSession();
    const expireTime = Math.floor(Date.now() / 1000) + 3600;
    for (const role of ['publisher', 'subscriber', 'moderator', 'publisheronly'] as const) {
      const token = video.generateClientToken(sessionId, {
        role,
        data: `name=${role}`,
        expireTime,
        initialLayoutClassList: ['focus'],
      });
      const verified = await parlor.server.tokens.verify(token);
      assert.equal(verified.apiKey, applicationId);
      assert.equal(verified.sessionId, sessionId);
      assert.equal(verified.role, role);
      assert.equal(verified.connectionData, `name=${role}`);
      assert.equal(verified.expiresAt, expireTime);
      assert.deepEqual(verified.initialLayoutClassList, ['focus']);
    }
  });

  it('reads the stream list of its session', async () => {
    const { sessionId } = await video.createSession();
    assert.deepEqual(await video.getStreamInfo(sessionId), { count: 0, items: [] });
  });

  it('is refused with 403 when signing with a key that is not the application’s', async () => {
    const { privateKey: wrongKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const impostor = new Video({ applicationId, privateKey: wrongKey }, { videoHost: parlor.url });
    await assert.rejects(impostor.createSession(), /403/);
  });
});

describe('application REST credentials', () => {
  const now = (): number => Math.floor(Date.now() / 1000);

  it('that expired are refused with 403', async () => {
    const headers = bearer(
      { application_id: applicationId, iat: now() - 2000, exp: now() - 1000 },
      privateKey,
    );
    const response = await fetch(`${parlor.url}/session/create`, { method: 'POST', headers });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as { message: string }).message, /expired/);
  });

  it('signed HS256 with the public key as the secret (key confusion) are refused with 403', async () => {
    const publicKey = (await parlor.server.applications.list()).find(
      (a) => a.applicationId === applicationId,
    )?.publicKey;
    assert.ok(publicKey);
    const headers = bearer(
      { application_id: applicationId, iat: now(), exp: now() + 300 },
      publicKey,
      'HS256',
    );
    const response = await fetch(`${parlor.url}/session/create`, { method: 'POST', headers });
    assert.equal(response.status, 403);
  });

  it("are refused with 403 on another application's paths", async () => {
    const other = (await parlor.server.applications.create('Other app')).application;
    const { sessionId } = await video.createSession();
    const headers = bearer({ application_id: applicationId, iat: now(), exp: now() + 300 }, privateKey);
    const response = await fetch(
      `${parlor.url}/v2/project/${other.applicationId}/session/${sessionId}/stream`,
      { headers },
    );
    assert.equal(response.status, 403);
  });
});

describe('application client tokens', () => {
  it("for another application's session are refused", async () => {
    const other = await parlor.server.applications.create('Third app');
    assert.ok(other.privateKey);
    const otherVideo = new Video(
      { applicationId: other.application.applicationId, privateKey: other.privateKey },
      { videoHost: parlor.url },
    );
    const { sessionId: foreignSession } = await otherVideo.createSession();
    assert.equal(await parlor.tokenRefusal(video.generateClientToken(foreignSession)), 'wrong-project');
  });

  it('signed by another key, or expired, are refused', async () => {
    const { sessionId } = await video.createSession();
    const claims = {
      application_id: applicationId,
      scope: 'session.connect',
      session_id: sessionId,
      role: 'publisher',
    };
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const iat = Math.floor(Date.now() / 1000);
    assert.equal(
      await parlor.tokenRefusal(
        jwt.sign({ ...claims, iat, exp: iat + 60 }, wrongKey, { algorithm: 'RS256' }),
      ),
      'bad-signature',
    );
    assert.equal(
      await parlor.tokenRefusal(
        jwt.sign({ ...claims, iat: iat - 100, exp: iat - 10 }, privateKey, { algorithm: 'RS256' }),
      ),
      'expired',
    );
  });
});

describe('opentok-node in its Vonage mode', () => {
  it('creates sessions and makes tokens that Parlor verifies', async () => {
    const opentok = new OpenTok(applicationId, privateKey, { apiUrl: parlor.url });
    const session = await new Promise<{ sessionId: string }>((resolve, reject) => {
      opentok.createSession({ mediaMode: 'routed' }, (error, created) => {
        if (error || !created) reject(error ?? new Error('no session'));
        else resolve(created);
      });
    });
    assert.equal((await parlor.server.sessions.get(applicationId, session.sessionId)).mediaMode, 'routed');
    const verified = await parlor.server.tokens.verify(
      opentok.generateToken(session.sessionId, { role: 'moderator', data: 'x' }),
    );
    assert.equal(verified.apiKey, applicationId);
    assert.equal(verified.role, 'moderator');
  });
});

describe('our server SDK with application credentials', () => {
  it('creates sessions and makes RS256 tokens that Parlor verifies, but no T1 tokens', async () => {
    const sdk = new ParlorOpenTok(applicationId, privateKey, { apiUrl: parlor.url });
    const session = await sdk.createSession({ mediaMode: 'routed' });
    assert.equal((await parlor.server.sessions.get(applicationId, session.sessionId)).mediaMode, 'routed');
    const token = session.generateToken({ role: 'subscriber', data: 'sdk' });
    assert.equal(jwt.decode(token, { complete: true })?.header.alg, 'RS256');
    const verified = await parlor.server.tokens.verify(token);
    assert.equal(verified.apiKey, applicationId);
    assert.equal(verified.role, 'subscriber');
    assert.equal(verified.connectionData, 'sdk');
    assert.throws(() => sdk.generateToken(session.sessionId, {}, true), ArgumentError);
  });
});
