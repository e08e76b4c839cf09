import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { tokenScope } from '@parlor/protocol';
import { ClientTokenVerifier, type VerifiedToken } from './ClientTokenVerifier.js';
import type { CredentialLookup } from './projectLookup.js';
import { RenewalKeys } from './RenewalKeys.js';
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

const application = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
let applicationExists = true;

const lookup: CredentialLookup = {
  secretOf: async (key) => (key === apiKey ? apiSecret : undefined),
  publicKeyOf: async (id) => (id === applicationId && applicationExists ? application.publicKey : undefined),
  projectOfSession: async (id) => ({ [sessionId]: apiKey, [applicationSession]: applicationId })[id],
};
const verifier = new ClientTokenVerifier({ lookup, clock: () => now });
const renewal = new TokenRenewal({ lookup, lifetimeSeconds: 600, clock: () => now });

/** The cluster's store of renewal keys, shared by its nodes, counting what it is asked. */
class SharedKeys {
  readonly keys = new Map<number, string>();
  asked = 0;
  async obtain(period: number, candidate: string): Promise<string> {
    this.asked++;
    if (!this.keys.has(period)) this.keys.set(period, candidate);
    return this.keys.get(period) ?? '';
  }
  async deleteBefore(period: number): Promise<number> {
    const old = [...this.keys.keys()].filter((kept) => kept < period);
    for (const kept of old) this.keys.delete(kept);
    return old.length;
  }
}

/** A node of a cluster: its verifier and its renewal, with its own cache of the shared keys. */
function clusterNode(shared: SharedKeys): { verifier: ClientTokenVerifier; renewal: TokenRenewal } {
  const renewalKeys = new RenewalKeys({ repository: shared, periodSeconds: 400, clock: () => now });
  return {
    verifier: new ClientTokenVerifier({ lookup, renewalKeys, clock: () => now }),
    renewal: new TokenRenewal({ lookup, keys: renewalKeys, lifetimeSeconds: 600, clock: () => now }),
  };
}

/** A Vonage application's token (RS256, its private key), as `@vonage/video` makes it, for a minute. */
function applicationToken(): string {
  return jwt.sign(
    {
      application_id: applicationId,
      scope: tokenScope,
      session_id: applicationSession,
      role: 'publisher',
      connection_data: 'name=Bob',
      initial_layout_class_list: 'focus',
      sub: 'video',
      acl: { paths: { '/session/**': {} } },
      jti: 'c7d0a0b4-3c62-4d1c-8f3a-2b2f5d6e7f80',
      iat: start,
      exp: start + 60,
    },
    application.privateKey,
    { algorithm: 'RS256' },
  );
}

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

  it("renews a Vonage application's token with the cluster's key: any node verifies it, with the same session, role, data and classes, counted as the first", async () => {
    now = start;
    applicationExists = true;
    const shared = new SharedKeys();
    const [a, b] = [clusterNode(shared), clusterNode(shared)];
    const first = await a.verifier.verify(applicationToken());
    const renewed = await a.renewal.renew(first, 'first-token-key');
    assert.ok(renewed);
    assert.equal(jwt.decode(renewed, { complete: true })?.header.alg, 'HS256');
    now = start + 300;
    await assert.rejects(
      b.verifier.verify(applicationToken()),
      (error: TokenError) => error.reason === 'expired',
    );
    const verified = await b.verifier.verify(renewed);
    assert.deepEqual(
      { ...verified, issuedAt: first.issuedAt, expiresAt: first.expiresAt },
      { ...first, renewalOf: 'first-token-key' },
    );
    assert.equal(verified.expiresAt, start + 600);
    const again = await b.verifier.verify((await b.renewal.renew(verified, 'renewed-token-key')) ?? '');
    assert.equal(again.renewalOf, 'first-token-key');
    // Both nodes asked the store for the key once, and share the first one stored.
    assert.equal(shared.asked, 2);
    assert.equal(shared.keys.size, 1);
    // A node without the cluster's keys (one on its own) refuses it.
    await assert.rejects(verifier.verify(renewed), (error: TokenError) => error.reason === 'bad-signature');
  });

  it('a renewed application token is refused once its key has rotated out, when the application is gone, or when signed with another key', async () => {
    applicationExists = true;
    const shared = new SharedKeys();
    const node = clusterNode(shared);
    const refusal = (token: string): Promise<string> =>
      node.verifier.verify(token).then(
        () => 'accepted',
        (error: unknown) => (error as TokenError).reason,
      );
    // Signed near the end of a period (they are 400 s, renewed tokens live 600 s).
    now = start;
    const first = await node.verifier.verify(applicationToken());
    now = start + 390;
    const renewed = (await node.renewal.renew(first, 'key')) ?? '';
    const { header, payload } = jwt.decode(renewed, { complete: true }) ?? {};
    const forged = jwt.sign(payload ?? {}, apiSecret, { algorithm: 'HS256', keyid: header?.kid });
    assert.equal(await refusal(forged), 'bad-signature');
    applicationExists = false;
    assert.equal(await refusal(renewed), 'unknown-project');
    assert.equal(await node.renewal.renew(first, 'key'), undefined);
    applicationExists = true;
    // It verifies in the next period, and not in the one after, though it has not expired.
    now = start + 410;
    assert.equal(await refusal(renewed), 'accepted');
    now = start + 810;
    assert.equal(await refusal(renewed), 'bad-signature');
    // Its key is deleted when a newer period's is made (none was made in the one between).
    assert.equal(await refusal((await node.renewal.renew(first, 'key')) ?? ''), 'accepted');
    assert.deepEqual([...shared.keys.keys()], [start / 400 + 2]);
  });

  it("renews no token of a project whose secret it does not hold without the cluster's keys (a Vonage application's on a node on its own)", async () => {
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
