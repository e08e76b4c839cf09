import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { deriveSrtpSessionKeys, SrtpContext } from '@parlor/server/media';

export interface SrtpFigures {
  /** Microseconds per protected packet. */
  readonly protectMicros: number;
  /** Microseconds per unprotected packet. */
  readonly unprotectMicros: number;
  /** The peer: the bare node:crypto calls the profile needs per packet, in microseconds. */
  readonly bareCipherMicros: number;
}

export type SrtpBenchResult = Record<'AEAD_AES_128_GCM' | 'AES_CM_128_HMAC_SHA1_80', SrtpFigures>;

const payloadBytes = 1200;
const packets = 20_000;

/** SRTP protect and unprotect of 1200-byte video packets, beside the bare cipher calls. */
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
    const sender = new SrtpContext(keys);
    const receiver = new SrtpContext(keys);
    const protectedPackets: Buffer[] = [];
    const protectMicros = timePerCall(packets, (i) => {
      rtp.writeUInt16BE(i & 0xffff, 2);
      protectedPackets.push(sender.protectRtp(rtp));
    });
    const unprotectMicros = timePerCall(packets, (i) => receiver.unprotectRtp(protectedPackets[i] as Buffer));
    const key = randomBytes(16);
    const iv = randomBytes(profile === 'AEAD_AES_128_GCM' ? 12 : 16);
    const bareCipherMicros =
      profile === 'AEAD_AES_128_GCM'
        ? timePerCall(packets, () => {
            const cipher = createCipheriv('aes-128-gcm', key, iv);
            cipher.update(rtp);
            cipher.final();
            cipher.getAuthTag();
          })
        : timePerCall(packets, () => {
            createCipheriv('aes-128-ctr', key, iv).update(rtp);
            createHmac('sha1', key).update(rtp).digest();
          });
    result[profile] = { protectMicros, unprotectMicros, bareCipherMicros };
  }
  return result;
}

function timePerCall(count: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < 2000; i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1000 / count;
}
