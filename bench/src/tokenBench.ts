import { createHmac, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ClientTokenVerifier, mintSessionId } from '@parlor/server';
import { OpenTok } from '@parlor/server-sdk';

export interface RateFigures {
  /** Operations per second, on one core (this process). */
  readonly perSecond: number;
  /** The same operation reduced to its bare signature check: the floor it builds on. */
  readonly barePerSecond: number;
}

export interface TokenBenchResult {
  readonly jwt: RateFigures;
  readonly t1: RateFigures;
}

/** Client-token verifications per second, JWT and T1, beside the bare signature checks. */
export async function runTokenBench(durationSeconds: number): Promise<TokenBenchResult> {
  const apiKey = '10000001';
  const apiSecret = 'c'.repeat(40);
  const sessionId = mintSessionId({ apiKey, location: null, createdAt: Date.now() });
  const verifier = new ClientTokenVerifier({
    lookup: {
      secretOf: async (key) => (key === apiKey ? apiSecret : undefined),
      publicKeyOf: async () => undefined,
      projectOfSession: async (id) => (id === sessionId ? apiKey : undefined),
    },
  });
  const sdk = new OpenTok(apiKey, apiSecret);
  const options = { role: 'publisher' as const, data: 'name=Bench' };
  const jwtToken = sdk.generateToken(sessionId, options);
  const t1Token = sdk.generateToken(sessionId, options, true);
  const t1Decoded = Buffer.from(t1Token.slice(4), 'base64').toString();
  const t1Data = t1Decoded.slice(t1Decoded.indexOf(':') + 1);
  const secretKey = createSecretKey(apiSecret, 'utf8');

  return {
    jwt: {
      perSecond: await rate(durationSeconds, () => verifier.verify(jwtToken)),
      barePerSecond: await rate(durationSeconds, () =>
        jwt.verify(jwtToken, secretKey, { algorithms: ['HS256'] }),
      ),
    },
    t1: {
      perSecond: await rate(durationSeconds, () => verifier.verify(t1Token)),
      barePerSecond: await rate(durationSeconds, () =>
        createHmac('sha1', secretKey).update(t1Data).digest('hex'),
      ),
    },
  };
}

/**
 * Calls `fn` repeatedly, one call after the other (awaiting those that return a promise), for
 * about `seconds` after a warm-up; returns calls per second.
 */
async function rate(seconds: number, fn: () => unknown): Promise<number> {
  const batch = 1000;
  const run = async (limitNs: bigint): Promise<number> => {
    const start = process.hrtime.bigint();
    let calls = 0;
    while (process.hrtime.bigint() - start < limitNs) {
      for (let i = 0; i < batch; i++) {
        const result = fn();
        if (result instanceof Promise) await result;
      }
      calls += batch;
    }
    return calls / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  await run(200_000_000n);
  return run(BigInt(Math.round(seconds * 1e9)));
}
