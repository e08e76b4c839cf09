import { ParlorError } from '@parlor/protocol';
import { archiveCallback } from '../archive/ArchiveService.js';
import {
  sessionMonitoringCallback,
  sipCallback,
  type CallbackKind,
  type CallbackService,
} from '../projects/CallbackService.js';
import type { WebhookSender } from '../webhooks/WebhookSender.js';

/** The kinds of callback URL, as the console's API and the CLI name them. */
export const callbackKindsByName = {
  session: sessionMonitoringCallback,
  archive: archiveCallback,
  sip: sipCallback,
} as const satisfies Readonly<Record<string, CallbackKind>>;

export type CallbackKindName = keyof typeof callbackKindsByName;

export function isCallbackKindName(name: unknown): name is CallbackKindName {
  return typeof name === 'string' && Object.hasOwn(callbackKindsByName, name);
}

/** The queue test events wait in: a test never holds back a session's real callbacks. */
export const testCallbackQueue = 'console-test';

export interface TestCallbackOptions {
  readonly callbacks: CallbackService;
  readonly webhooks: WebhookSender;
  readonly apiKey: string;
  readonly kind: CallbackKindName;
}

/**
 * Queues a signed `{"event":"test"}` POST to the project's URL of that kind, delivered and
 * retried like the real callbacks (its outcome goes to the deliveries history); resolves to the
 * URL. INVALID_REQUEST when the project has no URL of that kind.
 */
export async function sendTestCallback(options: TestCallbackOptions): Promise<string> {
  const { apiKey } = options;
  const kind = callbackKindsByName[options.kind];
  const url = await options.callbacks.urlFor(apiKey, kind);
  if (url === null) throw new ParlorError('INVALID_REQUEST', 'no URL is set for these callbacks');
  const body = { projectId: apiKey, event: 'test', group: kind.group, timestamp: Date.now() };
  await options.webhooks.send({ url, body, apiKey, queue: testCallbackQueue });
  return url;
}
