import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { deriveSrtpSessionKeys, nativeAddon, SrtpContext, type DataPlane } from '@parlor/server/media';

/** One data plane's `SrtpContext` per packet. */
export interface SrtpPlaneFigures {
  /** Microseconds per protected packet. */
  readonly protectMicros: number;
  /** Microseconds per unprotected packet. */
  readonly unprotectMicros: number;
}

export interface SrtpFigures {
  /** The TypeScript data plane (node:crypto). */
  readonly js: SrtpPlaneFigures;
  /** The native addon; null when it did not build. */
  readonly native: SrtpPlaneFigures | null;
  /** The peer: the bare node:crypto calls the profile needs per packet, in microseconds. */
  readonly bareCipherMicros: number;
}

export type SrtpBenchResult = Record<'AEAD_AES_128_GCM' | 'AES_CM_128_HMAC_SHA1_80', SrtpFigures>;

const payloadBytes = 1200;
/** Packets per round, and rounds: each figure is the median round, robust to a busy machine. */
const packetsPerRound = 1000;
const rounds = 31;

/** SRTP protect and unprotect of 1200-byte video packets on both data planes, beside the bare cipher calls. */
export function runSrtpBench(): SrtpBenchResult {
  const masterKey = randomBytes(16);
  const rtp = Buffer.alloc(12 + payloadBytes, 0x42);
  rtp[0] = 0x80;
  rtp[1] = 96;
  rtp.writeUInt32BE(0x12345678, 8);
  const result = {} as Record<keyof SrtpBenchResult, SrtpFigures>;
  for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const) {
    const masterSalt = randomBytes(profile === 'AEAD_AES_128_GCM' ? 12 : 14);
    const keys = deriveSrtpSessionKeys({ profile, masterKey, masterSalt });
    const key = randomBytes(16);
    const iv = randomBytes(profile === 'AEAD_AES_128_GCM' ? 12 : 16);
    const bareCipher =
      profile === 'AEAD_AES_128_GCM'
        ? () => {
            const cipher = createCipheriv('aes-128-gcm', key, iv);
            cipher.update(rtp);
            cipher.final();
            cipher.getAuthTag();
          }
        : () => {
            createCipheriv('aes-128-ctr', key, iv).update(rtp);
            createHmac('sha1', key).update(rtp).digest();
          };
    const planes: DataPlane[] = nativeAddon.available ? ['js', 'native'] : ['js'];
    const contexts = planes.map((plane) => ({
      sender: new SrtpContext(keys, plane),
      receiver: new SrtpContext(keys, plane),
      protectRounds: [] as number[],
      unprotectRounds: [] as number[],
    }));
    const bareRounds: number[] = [];
    let sequence = 0;
    for (let round = 0; round < rounds + 1; round++) {
      // Each round times every plane in turn, so that a busy moment of the machine hits all alike.
      for (const context of contexts) {
        const protectedPackets: Buffer[] = [];
        const first = sequence;
        const protectMicros = timePerCall(() => {
          rtp.writeUInt16BE(sequence++ & 0xffff, 2);
          protectedPackets.push(context.sender.protectRtp(rtp));
        });
        sequence = first;
        const unprotectMicros = timePerCall((i) =>
          context.receiver.unprotectRtp(protectedPackets[i] as Buffer),
        );
        // The first round warms up.
        if (round === 0) continue;
        context.protectRounds.push(protectMicros);
        context.unprotectRounds.push(unprotectMicros);
      }
      sequence += packetsPerRound;
      const bareMicros = timePerCall(bareCipher);
      if (round > 0) bareRounds.push(bareMicros);
    }
    const figures = contexts.map((context): SrtpPlaneFigures => ({
      protectMicros: median(context.protectRounds),
      unprotectMicros: median(context.unprotectRounds),
    }));
    result[profile] = {
      js: figures[0] as SrtpPlaneFigures,
      native: figures[1] ?? null,
      bareCipherMicros: median(bareRounds),
    };
  }
  return result;
}

/** CPU time (not wall time: other processes may take the core meanwhile) per call, in µs. */
function timePerCall(fn: (i: number) => unknown): number {
  const start = process.cpuUsage();
  for (let i = 0; i < packetsPerRound; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / packetsPerRound;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
