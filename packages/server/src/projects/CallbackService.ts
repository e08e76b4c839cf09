import { randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { ParlorError } from '@parlor/protocol';
import { archiveCallback } from '../archive/ArchiveService.js';
import type { PublicAddressPolicy } from '../nonPublicAddresses.js';
import type { CallbackRecord } from '../store/CallbackRepository.js';
import type { Store } from '../store/Store.js';

/** The group and event of the URL session monitoring callbacks are POSTed to. */
export const sessionMonitoringCallback = { group: 'session', event: 'monitoring' } as const;

/** The SIP call monitoring callbacks' registration (server-api.md §9.2). */
export const sipCallback = { group: 'sip', event: 'status' } as const;

/** The kinds of callback URL a project may register. */
const callbackKinds = [archiveCallback, sessionMonitoringCallback, sipCallback] as const;

/**
 * A project's callback URLs and the secret that signs its callbacks. Parlor sends three kinds:
 * archive status changes (group `archive`, event `status`), session monitoring (group
 * `session`, event `monitoring`) and SIP call monitoring (group `sip`, event `status`), set with
 * `parlor project callback`, REST or opentok-node's `registerCallback`.
 */
export class CallbackService {
  readonly #store: Store;
  readonly #addresses: PublicAddressPolicy | undefined;

  /**
   * @param addresses those callbacks may go to: a URL naming another address is refused at once
   *   (names are checked as each callback is sent). Default: any.
   */
  constructor(store: Store, addresses?: PublicAddressPolicy) {
    this.#store = store;
    this.#addresses = addresses;
  }

  /** Registers the URL for the group and event, replacing the project's previous one. */
  async register(apiKey: string, group: unknown, event: unknown, url: unknown): Promise<CallbackRecord> {
    const kind = callbackKinds.find((known) => known.group === group && known.event === event);
    if (!kind) {
      throw new ParlorError(
        'INVALID_REQUEST',
        `Parlor sends callbacks of these groups and events only: ${callbackKinds.map((known) => `"${known.group}"/"${known.event}"`).join(', ')}`,
      );
    }
    const { group: knownGroup, event: knownEvent } = kind;
    const callback: CallbackRecord = {
      callbackId: randomUUID(),
      apiKey,
      group: knownGroup,
      event: knownEvent,
      url: callbackUrl(url, this.#addresses),
      createdAt: Date.now(),
    };
    await this.#store.callbacks.put(callback);
    return callback;
  }

  list(apiKey: string): Promise<CallbackRecord[]> {
    return this.#store.callbacks.list(apiKey);
  }

  /** Removes a callback; CALLBACK_NOT_FOUND when the project has none by that ID. */
  async unregister(apiKey: string, callbackId: string): Promise<void> {
    if (!(await this.#store.callbacks.delete(apiKey, callbackId)))
      throw new ParlorError('CALLBACK_NOT_FOUND', callbackId);
  }

  /** The project's URL for one kind of callback, or null. */
  async urlFor(apiKey: string, kind: CallbackKind): Promise<string | null> {
    return (await this.#store.callbacks.find(apiKey, kind.group, kind.event))?.url ?? null;
  }

  /** Sets or (with null) removes the project's URL for one kind of callback. */
  async setUrl(apiKey: string, kind: CallbackKind, url: string | null): Promise<void> {
    if (url === null) await this.#store.callbacks.deleteFor(apiKey, kind.group, kind.event);
    else await this.register(apiKey, kind.group, kind.event, url);
  }

  archiveCallbackUrl(apiKey: string): Promise<string | null> {
    return this.urlFor(apiKey, archiveCallback);
  }

  setArchiveCallbackUrl(apiKey: string, url: string | null): Promise<void> {
    return this.setUrl(apiKey, archiveCallback, url);
  }

  /** The project's SIP call monitoring URL, or null. */
  sipCallbackUrl(apiKey: string): Promise<string | null> {
    return this.urlFor(apiKey, sipCallback);
  }

  /** The secret that signs the project's callbacks, made when first asked for. */
  async signatureSecret(apiKey: string): Promise<string> {
    const current = await this.#store.projects.signatureSecret(apiKey);
    if (current === undefined) throw new ParlorError('INVALID_REQUEST', `no project ${apiKey}`);
    if (current !== null) return current;
    // Two nodes asking at once both read back the one that was stored first.
    await this.#store.projects.setSignatureSecret(apiKey, newSignatureSecret(), true);
    return (await this.#store.projects.signatureSecret(apiKey)) ?? '';
  }

  /** Replaces the project's signature secret: callbacks sent from now on are signed with the new one. */
  async rotateSignatureSecret(apiKey: string): Promise<string> {
    if ((await this.#store.projects.signatureSecret(apiKey)) === undefined)
      throw new ParlorError('INVALID_REQUEST', `no project ${apiKey}`);
    const secret = newSignatureSecret();
    await this.#store.projects.setSignatureSecret(apiKey, secret);
    return secret;
  }
}

/** A group and event of callbacks. */
export type CallbackKind = (typeof callbackKinds)[number];

/** 32 random bytes, base64url: the HS256 key of a project's callback JWTs. */
function newSignatureSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Checks a callback URL: absolute http or https, to an allowed address if it names one. */
function callbackUrl(url: unknown, addresses: PublicAddressPolicy | undefined): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ParlorError('INVALID_REQUEST', 'url must be an absolute http or https URL');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (addresses && (host === 'localhost' || (isIP(host) !== 0 && !addresses.permits(host)))) {
    throw new ParlorError(
      'INVALID_REQUEST',
      'url must reach a public address: this server sends callbacks to loopback or private ones only when allowed (--callback-allowed-ip)',
    );
  }
  return parsed.href;
}
