import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { ClientTokenVerifier } from './ClientTokenVerifier.js';
import { clockSkewSeconds } from './clockSkew.js';
import { mintSessionId } from './sessionId.js';
import { TokenError, type TokenRefusal } from './TokenError.js';

const apiKey = '46264952';
const apiSecret = '0123456789abcdef0123456789abcdef01234567';
const otherKey = '12345678';
const otherSecret = 'fedcba9876543210fedcba9876543210fedcba98';
const sessionId = mintSessionId({ apiKey, location: null, createdAt: 1_700_000_000_000 });
const otherSession = mintSessionId({ apiKey: otherKey, location: null, createdAt: 1_700_000_000_000 });
const now = 1_800_000_000;

const keyPair = (): { publicKey: string; privateKey: string } =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
const applicationId = '0b1e6a43-52a8-4bd5-9c8c-9d3f0c1d2e3f';
const application = keyPair();
const otherApplicationId = '7d9c1d1e-95a0-4a0e-bb59-6e0b2a3c4d5e';
const otherApplication = keyPair();
const applicationSession = mintSessionId({
  apiKey: applicationId,
  location: null,
  createdAt: 1_700_000_000_000,
});
const otherApplicationSession = mintSessionId({ apiKey: otherApplicationId, location: null, createdAt: 1 });

const verifier = new ClientTokenVerifier({
  lookup: {
    secretOf: async (key) => ({ [apiKey]: apiSecret, [otherKey]: otherSecret })[key],
    publicKeyOf: async (id) =>
      ({ [applicationId]: application.publicKey, [otherApplicationId]: otherApplication.publicKey })[id],
    projectOfSession: async (id) =>
      ({
        [sessionId]: apiKey,
        [otherSession]: otherKey,
        [applicationSession]: applicationId,
        [otherApplicationSession]: otherApplicationId,
      })[id],
  },
  clock: () => now,
});

/** A T1 token over this exact data string, as the SDKs build them. */
function t1(data: string, options: { urlSafe?: boolean; key?: string; secret?: string } = {}): string {
  const sig = createHmac('sha1', options.secret ?? apiSecret)
    .update(data)
    .digest('hex');
  const bytes = Buffer.from(`partner_id=${options.key ?? apiKey}&sig=${sig}:${data}`);
  return 'T1==' + bytes.toString(options.urlSafe ? 'base64url' : 'base64');
}

function hs256(claims: object, secret = apiSecret, header: object = {}): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'JWT', ...header } });
}

async function refusal(token: string): Promise<TokenRefusal> {
  try {
    await verifier.verify(token);
  } catch (error) {
    assert.ok(error instanceof TokenError, String(error));
    return error.reason;
  }
  assert.fail('the token was accepted');
}

describe('T1 tokens', () => {
  it('in the Node SDK layout (querystring, %20 for spaces) are accepted', async () => {
    const data =
      `session_id=${sessionId}&create_time=${now - 10}&nonce=0.5445&role=moderator&expire_time=${now + 3600}` +
      '&connection_data=name%3DBob%20Smith&initial_layout_class_list=a%20b&scope=session.connect';
    assert.deepEqual(await verifier.verify(t1(data)), {
      format: 't1',
      apiKey,
      sessionId,
      role: 'moderator',
      connectionData: 'name=Bob Smith',
      initialLayoutClassList: ['a', 'b'],
      issuedAt: now - 10,
      expiresAt: now + 3600,
    });
  });

  it('in the PHP layout (raw session ID, + for spaces, microtime nonce) are accepted', async () => {
    const data =
      `session_id=${sessionId}&create_time=${now}&role=subscriber&nonce=1700000000.1234567891234` +
      `&expire_time=${now + 60}&connection_data=hello+world&initial_layout_class_list=focus+full`;
    const token = await verifier.verify(t1(data));
    assert.equal(token.role, 'subscriber');
    assert.equal(token.connectionData, 'hello world');
    assert.deepEqual(token.initialLayoutClassList, ['focus', 'full']);
  });

  it('in the Java layout (URL-safe base64, negative nonce, scope first) are accepted', async () => {
    const data =
      `create_time=${now}&expire_time=${now + 60}&session_id=${sessionId}&nonce=-1293847&role=publisheronly` +
      '&scope=session.connect&initial_layout_class_list=&connection_data=~~~~~~';
    // Six '~' always hold an aligned 0x7e7e7e, which base64 writes as "fn5+": here "fn5-".
    const encoded = t1(data, { urlSafe: true });
    assert.match(encoded, /-/);
    const token = await verifier.verify(encoded);
    assert.equal(token.role, 'publisheronly');
    assert.equal(token.connectionData, '~~~~~~');
  });

  it('in the Ruby layout without expire_time expire 24 hours after creation', async () => {
    const data = `role=publisher&session_id=${sessionId}&create_time=${now - 100}&nonce=0.25&connection_data=a+b`;
    const token = await verifier.verify(t1(data));
    assert.equal(token.expiresAt, now - 100 + 86400);
    assert.equal(token.connectionData, 'a b');
  });

  it('in the Python layout, with base64 padding stripped, are accepted', async () => {
    const data =
      `session_id=${sessionId}&create_time=${now}&expire_time=${now + 60}&role=publisher&nonce=123456` +
      '&initial_layout_class_list=&connection_data=x';
    const token = t1(data).replace(/=+$/, '');
    assert.equal((await verifier.verify(token)).connectionData, 'x');
  });

  it('are checked over the bytes as received, so re-encoding a field breaks the signature', async () => {
    const data = `session_id=${sessionId}&create_time=${now}&role=publisher&connection_data=a%20b`;
    const token = t1(data);
    const forged =
      'T1==' +
      Buffer.from(Buffer.from(token.slice(4), 'base64').toString().replace('a%20b', 'a+b')).toString(
        'base64',
      );
    assert.equal(await refusal(forged), 'bad-signature');
  });

  it('that are truncated, garbled or unsigned are refused as malformed', async () => {
    const data = `session_id=${sessionId}&create_time=${now}&role=publisher`;
    const token = t1(data);
    for (const bad of [
      'T1==',
      'T1==!!!!',
      token.slice(0, 20),
      'T1==' + Buffer.from('no colon here').toString('base64'),
      'T1==' + Buffer.from(`partner_id=${apiKey}:${data}`).toString('base64'),
      t1(`session_id=${sessionId}&session_id=${sessionId}&create_time=${now}`),
    ]) {
      assert.equal(await refusal(bad), 'malformed', bad);
    }
  });
});

describe('JWT tokens', () => {
  const nodeClaims = {
    iss: apiKey,
    ist: 'project',
    iat: now,
    exp: now + 86400,
    session_id: sessionId,
    create_time: now,
    nonce: 0.8,
    role: 'subscriber',
    expire_time: now + 86400,
    connection_data: 'x',
    initial_layout_class_list: '',
    scope: 'session.connect',
  };

  it('with the claims of opentok-node 2.23 are accepted', async () => {
    assert.deepEqual(await verifier.verify(hs256(nodeClaims)), {
      format: 'jwt',
      apiKey,
      sessionId,
      role: 'subscriber',
      connectionData: 'x',
      initialLayoutClassList: [],
      issuedAt: now,
      expiresAt: now + 86400,
    });
  });

  it('from PHP, without exp and with a URL-encoded class list, expire after 24 hours', async () => {
    const token = await verifier.verify(
      hs256({
        iss: apiKey,
        ist: 'project',
        iat: now - 5,
        session_id: sessionId,
        role: 'moderator',
        nonce: 42,
        scope: 'session.connect',
        initial_layout_class_list: 'focus+big%21',
      }),
    );
    assert.equal(token.expiresAt, now - 5 + 86400);
    assert.deepEqual(token.initialLayoutClassList, ['focus', 'big!']);
  });

  it('from Java, with a jti, are accepted', async () => {
    const token = await verifier.verify(
      hs256({
        iss: apiKey,
        ist: 'project',
        iat: now,
        exp: now + 60,
        jti: 'abc',
        session_id: sessionId,
        role: 'publisher',
        nonce: -5,
        scope: 'session.connect',
        connection_data: 'java',
      }),
    );
    assert.equal(token.connectionData, 'java');
  });

  const refusals: [string, () => string, TokenRefusal][] = [
    ['garbage', () => 'not a token', 'malformed'],
    ['a truncated JWT', () => hs256(nodeClaims).split('.').slice(0, 2).join('.'), 'malformed'],
    ['alg none', () => jwt.sign(nodeClaims, '', { algorithm: 'none' }), 'malformed'],
    ['a signature by another secret', () => hs256(nodeClaims, otherSecret), 'bad-signature'],
    [
      'a tampered payload',
      () => {
        const [header, , sig] = hs256(nodeClaims).split('.');
        const payload = Buffer.from(JSON.stringify({ ...nodeClaims, role: 'moderator' })).toString(
          'base64url',
        );
        return `${header}.${payload}.${sig}`;
      },
      'bad-signature',
    ],
    ['an unknown API key', () => hs256({ ...nodeClaims, iss: '999' }), 'unknown-project'],
    ['no scope', () => hs256({ ...nodeClaims, scope: undefined }), 'invalid-scope'],
    ['an unknown role', () => hs256({ ...nodeClaims, role: 'admin' }), 'invalid-role'],
    ['an expiry in the past', () => hs256({ ...nodeClaims, iat: now - 100, exp: now - 1 }), 'expired'],
    ['a lifetime over 30 days', () => hs256({ ...nodeClaims, exp: now + 31 * 86400 }), 'lifetime-too-long'],
    [
      'connection data over 1024 characters',
      () => hs256({ ...nodeClaims, connection_data: 'x'.repeat(1025) }),
      'data-too-long',
    ],
    ['no session ID', () => hs256({ ...nodeClaims, session_id: undefined }), 'malformed'],
    [
      'an unknown session',
      () => hs256({ ...nodeClaims, session_id: mintSessionId({ apiKey, location: null, createdAt: 1 }) }),
      'unknown-session',
    ],
    [
      'a session of another project',
      () => hs256({ ...nodeClaims, session_id: otherSession }),
      'wrong-project',
    ],
  ];
  for (const [what, make, reason] of refusals) {
    it(`with ${what} are refused as ${reason}`, async () => {
      assert.equal(await refusal(make()), reason);
    });
  }

  it('carrying exactly 1024 characters of connection data are accepted', async () => {
    assert.equal(
      (await verifier.verify(hs256({ ...nodeClaims, connection_data: 'é'.repeat(1024) }))).connectionData
        .length,
      1024,
    );
  });
});

describe('tokens issued in the future', () => {
  const fiveYears = 5 * 365 * 86400;

  it('a client token issued five years in the future is refused, though its lifetime is under 30 days (JWT)', async () => {
    const iat = now + fiveYears;
    const token = hs256({
      iss: apiKey,
      ist: 'project',
      iat,
      exp: iat + 29 * 86400,
      session_id: sessionId,
      nonce: 1,
      role: 'moderator',
      scope: 'session.connect',
    });
    assert.equal(await refusal(token), 'issued-in-future');
  });

  it('a client token issued five years in the future is refused (T1 without expire_time)', async () => {
    const data = `role=moderator&session_id=${sessionId}&create_time=${now + fiveYears}&nonce=0.25`;
    assert.equal(await refusal(t1(data)), 'issued-in-future');
  });

  it('a token issued 30 s ahead, within the clock skew, is accepted; one just past the skew is not', async () => {
    const claims = { iss: apiKey, ist: 'project', session_id: sessionId, nonce: 1, scope: 'session.connect' };
    assert.equal(
      (await verifier.verify(hs256({ ...claims, iat: now + 30, exp: now + 3600 }))).issuedAt,
      now + 30,
    );
    const data = `session_id=${sessionId}&create_time=${now + 30}&nonce=0.5&role=publisher`;
    assert.equal((await verifier.verify(t1(data))).issuedAt, now + 30);
    const late = now + clockSkewSeconds + 1;
    assert.equal(await refusal(hs256({ ...claims, iat: late, exp: late + 3600 })), 'issued-in-future');
  });
});

describe('Vonage application JWT tokens (RS256)', () => {
  const vonageClaims = {
    application_id: applicationId,
    scope: 'session.connect',
    session_id: applicationSession,
    role: 'moderator',
    initial_layout_class_list: 'focus',
    connection_data: 'vonage',
    sub: 'video',
    acl: { paths: { '/session/**': {} } },
    jti: 'c7d0a0b4-3c62-4d1c-8f3a-2b2f5d6e7f80',
    iat: now,
    exp: now + 86400,
  };
  const rs256 = (claims: object, privateKey = application.privateKey): string =>
    jwt.sign(claims, privateKey, { algorithm: 'RS256' });

  it('with the claims of @vonage/video are accepted', async () => {
    assert.deepEqual(await verifier.verify(rs256(vonageClaims)), {
      format: 'jwt',
      apiKey: applicationId,
      sessionId: applicationSession,
      role: 'moderator',
      connectionData: 'vonage',
      initialLayoutClassList: ['focus'],
      issuedAt: now,
      expiresAt: now + 86400,
    });
  });

  it('from Python, with subject instead of sub, are accepted', async () => {
    const { sub: _sub, ...claims } = vonageClaims;
    assert.equal((await verifier.verify(rs256({ ...claims, subject: 'video' }))).role, 'moderator');
  });

  const refusals: [string, () => string, TokenRefusal][] = [
    ['a signature by another key', () => rs256(vonageClaims, otherApplication.privateKey), 'bad-signature'],
    [
      'an unknown application',
      () => rs256({ ...vonageClaims, application_id: '11111111-2222-4333-8444-555555555555' }),
      'unknown-project',
    ],
    ['no application_id', () => rs256({ ...vonageClaims, application_id: undefined }), 'malformed'],
    ['an expiry in the past', () => rs256({ ...vonageClaims, iat: now - 100, exp: now - 1 }), 'expired'],
    [
      "another application's session",
      () => rs256({ ...vonageClaims, session_id: otherApplicationSession }),
      'wrong-project',
    ],
    [
      'HS256 signed with the public key as the secret (key confusion)',
      () => jwt.sign({ ...vonageClaims, iss: applicationId }, application.publicKey, { algorithm: 'HS256' }),
      'unknown-project',
    ],
    [
      'an algorithm other than HS256 or RS256',
      () => jwt.sign(vonageClaims, application.privateKey, { algorithm: 'RS512' }),
      'malformed',
    ],
  ];
  for (const [what, make, reason] of refusals) {
    it(`with ${what} are refused as ${reason}`, async () => {
      assert.equal(await refusal(make()), reason);
    });
  }
});
