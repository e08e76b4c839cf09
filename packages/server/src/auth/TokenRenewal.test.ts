import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { tokenScope } from '@parlor/protocol';
import { ClientTokenVerifier, type VerifiedToken } from './ClientTokenVerifier.js';
import type { CredentialLookup } from './projectLookup.js';
import { mintSessionId } from './sessionId.js';
import { TokenError } from './TokenError.js';
import { TokenRenewal } from './TokenRenewal.js';

const apiKey = '46264952';
const apiSecret = '0123456789abcdef0123456789abcdef01234567';
const sessionId = mintSessionId({ apiKey, location: null, createdAt: 1_700_000_000_000 });
const applicationId = '0b1e6a43-52a8-4bd5-9c8c-9d3f0c1d2e3f';
const applicationSession = mintSessionId({ apiKey: applicationId, location: null, createdAt: 1 });
const start = 1_800_000_000;
let now = start;

const lookup: CredentialLookup = {
  secretOf: async (key) => (key === apiKey ? apiSecret : undefined),
  publicKeyOf: async () => undefined,
  projectOfSession: async (id) => ({ [sessionId]: apiKey, [applicationSession]: applicationId })[id],
};
const verifier = new ClientTokenVerifier({ lookup, clock: () => now });
const renewal = new TokenRenewal({ lookup, lifetimeSeconds: 600, clock: () => now });

/** A moderator's token with data and layout classes that expires a minute after `start`. */
function clientToken(): string {
  return jwt.sign(
    {
      iss: apiKey,
      ist: 'project',
      iat: start,
      exp: start + 60,
      scope: tokenScope,
      session_id: sessionId,
      role: 'moderator',
      connection_data: 'name=Alice',
      initial_layout_class_list: 'focus full',
    },
    apiSecret,
    { algorithm: 'HS256' },
  );
}

describe('TokenRenewal', () => {
  it('renews a token that then expires: the renewed one verifies on any node with the same session, role, data and classes, counted as the first', async () => {
    now = start;
    const first = await verifier.verify(clientToken());
    const renewed = await renewal.renew(first, 'first-token-key');
    assert.ok(renewed);
    now = start + 300;
    await assert.rejects(verifier.verify(clientToken()), (error: TokenError) => error.reason === 'expired');
    const verified = await verifier.verify(renewed);
    const same = ({
      apiKey,
      sessionId,
      role,
      connectionData,
      initialLayoutClassList,
    }: VerifiedToken): object => ({
      apiKey,
      sessionId,
      role,
      connectionData,
      initialLayoutClassList,
    });
    assert.deepEqual(same(verified), same(first));
    assert.equal(verified.renewalOf, 'first-token-key');
    assert.equal(verified.expiresAt, start + 600);
    // Renewed again, it still counts as the first token.
    const again = await verifier.verify((await renewal.renew(verified, 'renewed-token-key')) ?? '');
    assert.equal(again.renewalOf, 'first-token-key');
  });

  it('a renewed token expires in its turn: a client that is gone longer than its life cannot come back', async () => {
    now = start;
    const renewed = await renewal.renew(await verifier.verify(clientToken()), 'key');
    now = start + 600;
    await assert.rejects(verifier.verify(renewed ?? ''), (error: TokenError) => error.reason === 'expired');
  });

  it("renews no token of a project whose secret it does not hold (a Vonage application's)", async () => {
    const token: VerifiedToken = {
      format: 'jwt',
      apiKey: applicationId,
      sessionId: applicationSession,
      role: 'publisher',
      connectionData: '',
      initialLayoutClassList: [],
      issuedAt: start,
      expiresAt: start + 60,
    };
    assert.equal(await renewal.renew(token, 'key'), undefined);
  });
});
