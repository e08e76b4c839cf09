import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import OpenTok, { ArgumentError, AuthError, RequestError, type Session } from '@parlor/server-sdk';

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer();
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => parlor.dispose());

describe('the server SDK', () => {
  it('runs the seed example as written, with only the API URL added', async () => {
    const example = fileURLToPath(new URL('fixtures/seed-example.mjs', import.meta.url));
    // Plain node against the built package, as an application would run it.
    const { stdout } = await promisify(execFile)(process.execPath, [example], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        API_KEY: parlor.apiKey,
        API_SECRET: parlor.apiSecret,
        PARLOR_URL: parlor.url,
      },
    });
    const sessionId = /^Session ID: (1_[A-Za-z0-9_-]+)$/m.exec(stdout)?.[1];
    assert.ok(sessionId, stdout);
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, sessionId)).mediaMode, 'routed');
  });

  it('creates sessions with a promise, with the settings it was given', async () => {
    const session = await opentok.createSession({
      mediaMode: 'routed',
      archiveMode: 'always',
      location: '8.8.4.4',
      archiveName: 'Daily',
      archiveResolution: '1920x1080',
    });
    assert.equal(session.mediaMode, 'routed');
    assert.equal(session.archiveMode, 'always');
    const stored = await parlor.server.sessions.get(parlor.apiKey, session.sessionId);
    assert.equal(stored.location, '8.8.4.4');
    assert.equal(stored.archiveName, 'Daily');
    assert.equal(stored.archiveResolution, '1920x1080');
    const relayed = await new OpenTok(Number(parlor.apiKey), parlor.apiSecret, parlor.url).createSession();
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, relayed.sessionId)).mediaMode, 'relayed');
  });

  it('refuses invalid session options with an ArgumentError, sending nothing', async () => {
    await assert.rejects(
      opentok.createSession({ mediaMode: 'relayed', archiveMode: 'always' }),
      ArgumentError,
    );
    await assert.rejects(opentok.createSession({ location: 'here' }), ArgumentError);
    await assert.rejects(opentok.createSession({ mediaMode: 'relayed', e2ee: true }), ArgumentError);
    const error = await new Promise<Error | null>((resolve) => {
      opentok.createSession({ mediaMode: 'relayed', archiveMode: 'always' }, (e) => {
        resolve(e);
      });
    });
    assert.ok(error instanceof ArgumentError);
  });

  it('reports refused credentials as AuthError and other refusals as RequestError with the status', async () => {
    const intruder = new OpenTok(parlor.apiKey, '0'.repeat(40), { apiUrl: parlor.url });
    await assert.rejects(
      intruder.createSession(),
      (error) => error instanceof AuthError && error.status === 403,
    );
    await assert.rejects(
      opentok.createSession({ mediaMode: 'routed', archiveName: 'x'.repeat(81) }),
      (error) => error instanceof RequestError && error.status === 400 && /archiveName/.test(error.message),
    );
  });

  it('reports an unreachable server as a RequestError without status', async () => {
    const nowhere = new OpenTok(parlor.apiKey, parlor.apiSecret, {
      apiUrl: 'http://127.0.0.1:9',
      timeout: 2000,
    });
    await assert.rejects(
      nowhere.createSession(),
      (error) => error instanceof RequestError && error.status === undefined,
    );
  });

  for (const legacy of [false, true]) {
    it(`makes ${legacy ? 'T1' : 'JWT'} tokens that Parlor verifies, with every option`, async () => {
      const session: Session = await opentok.createSession({ mediaMode: 'routed' });
      const expireTime = Math.floor(Date.now() / 1000) + 600;
      for (const role of ['publisher', 'subscriber', 'moderator', 'publisheronly'] as const) {
        const token = opentok.generateToken(
          session.sessionId,
          { role, expireTime, data: 'userId=42', initialLayoutClassList: ['a', 'b'] },
          legacy,
        );
        const verified = await parlor.server.tokens.verify(token);
        assert.deepEqual(
          { ...verified, issuedAt: 0 },
          {
            format: legacy ? 't1' : 'jwt',
            apiKey: parlor.apiKey,
            sessionId: session.sessionId,
            role,
            connectionData: 'userId=42',
            initialLayoutClassList: ['a', 'b'],
            issuedAt: 0,
            expiresAt: expireTime,
          },
        );
      }
      const fromSession = await parlor.server.tokens.verify(session.generateToken());
      assert.equal(fromSession.role, 'publisher');
      assert.equal(fromSession.expiresAt - fromSession.issuedAt, 86400);
    });
  }

  it('refuses invalid token options with an ArgumentError', async () => {
    const { sessionId } = await opentok.createSession();
    const now = Math.floor(Date.now() / 1000);
    const invalid = [
      () => opentok.generateToken(sessionId, { role: 'admin' as 'publisher' }),
      () => opentok.generateToken(sessionId, { expireTime: now - 10 }),
      () => opentok.generateToken(sessionId, { expireTime: now + 31 * 86400 }),
      () => opentok.generateToken(sessionId, { data: 'x'.repeat(1025) }),
      () => opentok.generateToken(sessionId, { initialLayoutClassList: ['c'.repeat(1025)] }),
      () => opentok.generateToken('1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg'),
      () => opentok.generateToken(''),
    ];
    for (const make of invalid) assert.throws(make, ArgumentError);
  });
});
