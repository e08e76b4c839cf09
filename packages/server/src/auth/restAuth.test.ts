import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { ParlorError } from '@parlor/protocol';
import { verifyProjectJwt } from './restAuth.js';

const apiKey = '46264952';
const apiSecret = '0123456789abcdef0123456789abcdef01234567';
const lookup = { secretOf: (key: string) => (key === apiKey ? apiSecret : undefined) };
const now = 1_800_000_000;

function sign(claims: object, options: jwt.SignOptions = {}, secret = apiSecret): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', ...options });
}

function refusalOf(token: string | undefined): string {
  try {
    verifyProjectJwt(token, lookup, now);
  } catch (error) {
    assert.ok(error instanceof ParlorError);
    assert.equal(error.id, 'AUTH_FAILED');
    assert.equal(error.status, 403);
    return error.message;
  }
  assert.fail('the JWT was accepted');
}

describe('REST project JWTs', () => {
  it('as opentok-node makes them (ist in the claims, no jti) authenticate the project', () => {
    assert.equal(
      verifyProjectJwt(sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }), lookup, now),
      apiKey,
    );
  });

  it('as Ruby makes them (ist in the header) authenticate the project', () => {
    const token = sign(
      { iss: apiKey, iat: now, exp: now + 300 },
      { header: { alg: 'HS256', ist: 'project' } as jwt.JwtHeader },
    );
    assert.equal(verifyProjectJwt(token, lookup, now), apiKey);
  });

  it('from a clock up to two minutes off are accepted', () => {
    assert.equal(
      verifyProjectJwt(sign({ iss: apiKey, iat: now + 100, exp: now + 400 }), lookup, now),
      apiKey,
    );
    assert.equal(
      verifyProjectJwt(sign({ iss: apiKey, iat: now - 400, exp: now - 100 }), lookup, now),
      apiKey,
    );
  });

  const refusals: [string, string | undefined, RegExp][] = [
    ['no header', undefined, /missing X-OPENTOK-AUTH/],
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
    it(`with ${what} are refused with 403`, () => {
      assert.match(refusalOf(token), message);
    });
  }
});
