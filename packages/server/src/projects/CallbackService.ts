import { randomUUID } from 'node:crypto';
import { ParlorError } from '@parlor/protocol';
import { archiveCallback } from '../archive/ArchiveService.js';
import type { CallbackRecord } from '../store/CallbackRepository.js';
import type { Store } from '../store/Store.js';

/** The SIP call monitoring callbacks' registration (server-api.md §9.2). */
export const sipCallback = { group: 'sip', event: 'status' } as const;

const kinds = [archiveCallback, sipCallback] as const;

/**
 * A project's callback URLs. Parlor sends two kinds: archive status changes (group `archive`,
 * event `status`) and SIP call monitoring (group `sip`, event `status`), set with
 * `parlor project callback` or opentok-node's `registerCallback`.
 */
export class CallbackService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Registers the URL for the group and event, replacing the project's previous one. */
  register(apiKey: string, group: unknown, event: unknown, url: unknown): CallbackRecord {
    const kind = kinds.find((each) => each.group === group && each.event === event);
    if (!kind) {
      throw new ParlorError(
        'INVALID_REQUEST',
        `Parlor sends callbacks of the groups "archive" and "sip", event "status", only`,
      );
    }
    const callback: CallbackRecord = {
      callbackId: randomUUID(),
      apiKey,
      group: kind.group,
      event: kind.event,
      url: callbackUrl(url),
      createdAt: Date.now(),
    };
    this.#store.callbacks.put(callback);
    return callback;
  }

  list(apiKey: string): CallbackRecord[] {
    return this.#store.callbacks.list(apiKey);
  }

  /** Removes a callback; CALLBACK_NOT_FOUND when the project has none by that ID. */
  unregister(apiKey: string, callbackId: string): void {
    if (!this.#store.callbacks.delete(apiKey, callbackId))
      throw new ParlorError('CALLBACK_NOT_FOUND', callbackId);
  }

  /** The project's archive callback URL, or null. */
  archiveCallbackUrl(apiKey: string): string | null {
    return this.#store.callbacks.find(apiKey, archiveCallback.group, archiveCallback.event)?.url ?? null;
  }

  /** The project's SIP call monitoring URL, or null. */
  sipCallbackUrl(apiKey: string): string | null {
    return this.#store.callbacks.find(apiKey, sipCallback.group, sipCallback.event)?.url ?? null;
  }

  /** Sets or (with null) removes the project's archive callback URL. */
  setArchiveCallbackUrl(apiKey: string, url: string | null): void {
    if (url === null) this.#store.callbacks.deleteFor(apiKey, archiveCallback.group, archiveCallback.event);
    else this.register(apiKey, archiveCallback.group, archiveCallback.event, url);
  }
}

/** Checks a callback URL: absolute http or https. */
function callbackUrl(url: unknown): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ParlorError('INVALID_REQUEST', 'url must be an absolute http or https URL');
  }
  return parsed.href;
}
