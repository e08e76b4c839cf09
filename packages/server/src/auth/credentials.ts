import { randomBytes, randomInt } from 'node:crypto';

/**
 * Project credentials in the shapes every official SDK takes down its OpenTok code path
 * (contracts/server-api.md §1): the API key is decimal digits that fit a signed 32-bit integer
 * (Java stores it as an int), the secret 40 lowercase hex characters (PHP tests for that, and
 * Python would take a '.' in a secret for a key file's path).
 */

const maxApiKey = 2147483647;
const apiKeyPattern = /^[0-9]+$/;
const apiSecretPattern = /^[0-9a-f]{40}$/;

/** Why an API key cannot be used, or null when it can. */
export function apiKeyProblem(apiKey: string): string | null {
  if (!apiKeyPattern.test(apiKey) || apiKey.length > 10 || Number(apiKey) > maxApiKey) {
    return `must be decimal digits no greater than ${maxApiKey}`;
  }
  // Java compares the key's decimal form as an int, which has no leading zero.
  if (apiKey.startsWith('0')) return 'must not start with 0';
  return null;
}

/** Why an API secret cannot be used, or null when it can. */
export function apiSecretProblem(apiSecret: string): string | null {
  return apiSecretPattern.test(apiSecret) ? null : 'must be 40 lowercase hexadecimal characters';
}

/** A random 8-digit API key, as real OpenTok keys are. */
export function generateApiKey(): string {
  return String(randomInt(10_000_000, 100_000_000));
}

export function generateApiSecret(): string {
  return randomBytes(20).toString('hex');
}
