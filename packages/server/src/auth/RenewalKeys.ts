import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { RenewalKeyRepository } from '../store/RenewalKeyRepository.js';

export interface RenewalKeysOptions {
  /** Where the cluster's nodes keep the keys: its PostgreSQL store. */
  readonly repository: Pick<RenewalKeyRepository, 'obtain' | 'deleteBefore'>;
  /** How long each key signs renewed tokens, in seconds; it verifies them one period longer. Default: 86400. */
  readonly periodSeconds?: number;
  /** Current Unix time in seconds. Default: the system clock. */
  readonly clock?: () => number;
}

/** A key that signs renewed tokens now, with the ID that names it in their header. */
export interface SigningKey {
  readonly id: string;
  readonly key: KeyObject;
}

const idPrefix = 'parlor-renewal-';

/** Whether a token header's `kid` names a renewal key (whether or not the key exists). */
export function isRenewalKeyId(kid: unknown): kid is string {
  return typeof kid === 'string' && kid.startsWith(idPrefix);
}

/**
 * The keys a cluster's nodes sign and verify renewed tokens with where no project secret can
 * (Vonage applications, whose private key only the application holds). One random key per
 * period (a day by default), made by the first node that needs it and kept in the shared store
 * so that every node verifies what any node signed; a key verifies tokens during its period and
 * the next (renewed tokens live minutes), and older keys are deleted. A node asks the store
 * for a period's key once and keeps it, so verifying costs no round trip after that.
 */
export class RenewalKeys {
  readonly #repository: RenewalKeysOptions['repository'];
  readonly #periodSeconds: number;
  readonly #clock: () => number;
  /** The keys of the current and the previous period, as asked of the store. */
  readonly #keys = new Map<number, Promise<KeyObject>>();

  constructor(options: RenewalKeysOptions) {
    this.#repository = options.repository;
    this.#periodSeconds = options.periodSeconds ?? 86_400;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The key to sign with now. */
  async signing(): Promise<SigningKey> {
    const period = this.#currentPeriod();
    return { id: `${idPrefix}${period}`, key: await this.#keyOf(period) };
  }

  /** The key a token's `kid` names, while it verifies tokens; undefined for any other ID. */
  async verifying(kid: string): Promise<KeyObject | undefined> {
    if (!isRenewalKeyId(kid)) return undefined;
    const digits = kid.slice(idPrefix.length);
    if (!/^\d{1,15}$/.test(digits)) return undefined;
    const period = Number(digits);
    const current = this.#currentPeriod();
    if (period !== current && period !== current - 1) return undefined;
    return this.#keyOf(period);
  }

  #currentPeriod(): number {
    return Math.floor(this.#clock() / this.#periodSeconds);
  }

  #keyOf(period: number): Promise<KeyObject> {
    const known = this.#keys.get(period);
    if (known) return known;
    const current = this.#currentPeriod();
    // Only the two periods whose keys verify are kept: the map has at most three entries.
    for (const kept of this.#keys.keys()) if (kept < current - 1) this.#keys.delete(kept);
    const key = (async () => {
      const secret = await this.#repository.obtain(period, randomBytes(32).toString('base64url'));
      if (period === current) await this.#repository.deleteBefore(current - 1).catch(() => 0);
      return createSecretKey(secret, 'utf8');
    })();
    this.#keys.set(period, key);
    // A store that did not answer is asked again next time.
    key.catch(() => {
      if (this.#keys.get(period) === key) this.#keys.delete(period);
    });
    return key;
  }
}
