import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { ParlorError } from '@parlor/protocol';
import { authenticateRest } from './restAuth.js';

const apiKey = '46264952';
const apiSecret = '0123456789abcdef0123456789abcdef01234567';
const applicationId = '0b1e6a43-52a8-4bd5-9c8c-9d3f0c1d2e3f';
const application = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const lookup = {
  secretOf: async (key: string) => (key === apiKey ? apiSecret : undefined),
  publicKeyOf: async (id: string) => (id === applicationId ? application.publicKey : undefined),
};

function verifyProjectJwt(token: string | undefined, nowSeconds: number): Promise<string> {
  return authenticateRest({ opentokAuth: token, authorization: undefined }, lookup, nowSeconds);
}

function verifyBearer(token: string | undefined, nowSeconds: number): Promise<string> {
  return authenticateRest(
    { opentokAuth: undefined, authorization: `Bearer ${token ?? ''}` },
    lookup,
    nowSeconds,
  );
}

const now = 1_800_000_000;

function sign(claims: object, options: jwt.SignOptions = {}, secret = apiSecret): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', ...options });
}

async function refusalOf(
  token: string | undefined,
  verify: (token: string | undefined, now: number) => Promise<string> = verifyProjectJwt,
): Promise<string> {
  try {
    await verify(token, now);
  } catch (error) {
    assert.ok(error instanceof ParlorError);
    assert.equal(error.id, 'AUTH_FAILED');
    assert.equal(error.status, 403);
    return error.message;
  }
  assert.fail('the JWT was accepted');
}

describe('REST project JWTs', () => {
  it('as opentok-node makes them (ist in the claims, no jti) authenticate the project', async () => {
    assert.equal(
      await verifyProjectJwt(sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }), now),
      apiKey,
    );
  });

  it('as Ruby makes them (ist in the header) authenticate the project', async () => {
    const token = sign(
      { iss: apiKey, iat: now, exp: now + 300 },
      { header: { alg: 'HS256', ist: 'project' } as jwt.JwtHeader },
    );
    assert.equal(await verifyProjectJwt(token, now), apiKey);
  });

  it('from a clock up to two minutes off are accepted', async () => {
    assert.equal(await verifyProjectJwt(sign({ iss: apiKey, iat: now + 100, exp: now + 400 }), now), apiKey);
    assert.equal(await verifyProjectJwt(sign({ iss: apiKey, iat: now - 400, exp: now - 100 }), now), apiKey);
  });

  const refusals: [string, string | undefined, RegExp][] = [
    ['no header', undefined, /missing X-OPENTOK-AUTH or Authorization: Bearer/],
    ['garbage', 'abc.def', /malformed/],
    [
      'alg none',
      jwt.sign({ iss: apiKey, exp: now + 300 }, '', { algorithm: 'none' }),
      /algorithm none is not allowed/,
    ],
    [
      'a wrong secret',
      sign({ iss: apiKey, exp: now + 300 }, {}, 'f'.repeat(40)),
      /Invalid API key or secret/,
    ],
    ['an unknown API key', sign({ iss: '1', exp: now + 300 }), /Invalid API key or secret/],
    ['no iss', sign({ exp: now + 300 }), /no iss/],
    ['no exp', sign({ iss: apiKey, iat: now }), /no exp/],
    ['an expired exp', sign({ iss: apiKey, iat: now - 1000, exp: now - 500 }), /expired/],
    ['an exp an hour ahead', sign({ iss: apiKey, iat: now, exp: now + 3600 }), /more than 300 s ahead/],
    ['an iat in the future', sign({ iss: apiKey, iat: now + 200, exp: now + 300 }), /issued in the future/],
    ['an account-level ist', sign({ iss: apiKey, ist: 'account', exp: now + 300 }), /ist must be "project"/],
  ];
  for (const [what, token, message] of refusals) {
    it(`with ${what} are refused with 403`, async () => {
      assert.match(await refusalOf(token), message);
    });
  }
});

describe('REST application JWTs (Authorization: Bearer)', () => {
  const sign = (claims: object, key: string = application.privateKey): string =>
    jwt.sign(claims, key, { algorithm: 'RS256' });
  const vonage = { application_id: applicationId, iat: now, exp: now + 900, jti: 'a1b2' };

  it('as @vonage/jwt makes them authenticate the application', async () => {
    assert.equal(await verifyBearer(sign(vonage), now), applicationId);
  });

  it('as opentok-node makes them in its Vonage mode authenticate the application', async () => {
    const claims = {
      iss: applicationId,
      ist: 'project',
      iat: now,
      exp: now + 300,
      application_id: applicationId,
      jti: 'x',
    };
    assert.equal(await verifyBearer(sign(claims), now), applicationId);
  });

  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  });
  const refusals: [string, string, RegExp][] = [
    ['a signature by another key', sign(vonage, other.toString()), /Invalid application ID or key/],
    [
      'an unknown application',
      sign({ ...vonage, application_id: '11111111-2222-4333-8444-555555555555' }),
      /Invalid application ID or key/,
    ],
    ['no application_id', sign({ iat: now, exp: now + 900 }), /no application_id/],
    ['no exp', sign({ application_id: applicationId, iat: now }), /no exp/],
    ['an expired exp', sign({ ...vonage, iat: now - 2000, exp: now - 1000 }), /expired/],
    ['an exp two days ahead', sign({ ...vonage, exp: now + 2 * 86400 }), /ahead/],
    [
      'HS256 signed with the public key as the secret (key confusion)',
      jwt.sign(vonage, application.publicKey, { algorithm: 'HS256' }),
      /algorithm HS256 is not allowed here/,
    ],
  ];
  for (const [what, token, message] of refusals) {
    it(`with ${what} are refused with 403`, async () => {
      assert.match(await refusalOf(token, verifyBearer), message);
    });
  }
});
