import { randomUUID } from 'node:crypto';
import { ParlorError } from '@parlor/protocol';
import { archiveCallback } from '../archive/ArchiveService.js';
import type { CallbackRecord } from '../store/CallbackRepository.js';
import type { Store } from '../store/Store.js';

/**
 * A project's callback URLs. Parlor sends one kind: archive status changes (group `archive`,
 * event `status`), set with `parlor project callback` or opentok-node's `registerCallback`.
 */
export class CallbackService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Registers the URL for the group and event, replacing the project's previous one. */
  async register(apiKey: string, group: unknown, event: unknown, url: unknown): Promise<CallbackRecord> {
    if (group !== archiveCallback.group || event !== archiveCallback.event) {
      throw new ParlorError(
        'INVALID_REQUEST',
        `Parlor sends callbacks of the group "${archiveCallback.group}" and event "${archiveCallback.event}" only`,
      );
    }
    const callback: CallbackRecord = {
      callbackId: randomUUID(),
      apiKey,
      group,
      event,
      url: callbackUrl(url),
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

  /** The project's archive callback URL, or null. */
  async archiveCallbackUrl(apiKey: string): Promise<string | null> {
    return (
      (await this.#store.callbacks.find(apiKey, archiveCallback.group, archiveCallback.event))?.url ?? null
    );
  }

  /** Sets or (with null) removes the project's archive callback URL. */
  async setArchiveCallbackUrl(apiKey: string, url: string | null): Promise<void> {
    if (url === null)
      await this.#store.callbacks.deleteFor(apiKey, archiveCallback.group, archiveCallback.event);
    else await this.register(apiKey, archiveCallback.group, archiveCallback.event, url);
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
