import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Operator passwords, hashed with scrypt (RFC 7914), memory-hard and built into Node (OpenSSL's):
 * no dependency, nothing to download at install. Parameters after OWASP's password storage
 * advice: N = 2^16, r = 8, p = 1, 64 MiB and about 0.2 s per hash on one core. A hash records
 * its parameters (`scrypt$16$8$1$salt$hash`, base64url), so that they can be raised later.
 */
const current = { log2N: 16, r: 8, p: 1 } as const;
const saltBytes = 16;
const hashBytes = 32;

/** Shortest password accepted. */
export const minPasswordLength = 10;
/** Longest password hashed (scrypt takes any length; a bound keeps requests small). */
export const maxPasswordLength = 1024;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, hashBytes, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** The password's hash, with a new salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltBytes);
  const { log2N, r, p } = current;
  const key = await derive(password, salt, log2N, r, p);
  return ['scrypt', log2N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether the password is the one hashed; false for a hash it cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, log2N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const [n, blockSize, parallel] = [Number(log2N), Number(r), Number(p)];
  if (![n, blockSize, parallel].every((value) => Number.isInteger(value) && value > 0) || n > 20)
    return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), n, blockSize, parallel);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Why a password cannot be used, or null. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'password must be a string';
  if (password.length < minPasswordLength)
    return `password must have at least ${minPasswordLength} characters`;
  if (password.length > maxPasswordLength)
    return `password must have at most ${maxPasswordLength} characters`;
  return null;
}

/** Why an operator name cannot be used, or null. */
export function operatorNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || !/^[\w.@-]{1,64}$/.test(name))
    return 'name must be 1 to 64 letters, digits or . _ @ -';
  return null;
}
