import type { Logger } from 'pino';
import type { WebhookSender } from '../webhooks/WebhookSender.js';
import type { SipCallInfo, SipService } from './SipService.js';
import type { SipCallState } from './SipCall.js';

const stateNames: Readonly<Record<Exclude<SipCallState, 'ended'>, string>> = {
  dialing: 'DIALING',
  ringing: 'RINGING',
  active: 'ACTIVE',
  onHold: 'ON_HOLD',
};

/** SIP callbacks waiting for their URL to be read, past which new ones are dropped (and logged). */
const maxWaiting = 10_000;

/**
 * Sends SIP call monitoring callbacks (server-api.md §9.2) to the project's SIP callback URL,
 * through the webhook queue (stored, retried, signed): `callCreated`, `callUpdated` with each
 * state and `HANGUP` at the end, `callDestroyed` with `reason_code` and `reason_message`,
 * `muteForced`. They are queued in the order they happened, one queue per session.
 */
export function sendSipCallbacks(
  sip: SipService,
  urlOf: (apiKey: string) => Promise<string | null>,
  webhooks: WebhookSender,
  logger: Logger,
): void {
  let queueing = Promise.resolve();
  let waiting = 0;
  const send = (call: SipCallInfo, event: string, extra: object = {}): void => {
    if (waiting >= maxWaiting) {
      logger.warn({ sessionId: call.sessionId, event }, 'SIP callback dropped: too many wait to be queued');
      return;
    }
    const body = {
      sessionId: call.sessionId,
      projectId: call.apiKey,
      event,
      timestamp: Date.now(),
      call: { id: call.id, connectionId: call.connectionId, createdAt: call.createdAt },
      ...extra,
    };
    waiting += 1;
    // Looked up at once, queued in turn.
    const lookup = urlOf(call.apiKey);
    lookup.catch(() => undefined);
    queueing = queueing.then(async () => {
      try {
        const url = await lookup;
        if (url !== null) await webhooks.send({ url, body, apiKey: call.apiKey, queue: call.sessionId });
      } catch (error) {
        logger.error({ err: error, sessionId: call.sessionId }, 'a SIP callback could not be queued');
      } finally {
        waiting -= 1;
      }
    });
  };
  sip.on('callCreated', (call) => {
    send(call, 'callCreated');
  });
  sip.on('callUpdated', (call, state) => {
    send(call, 'callUpdated', { state: stateNames[state] });
  });
  sip.on('callDestroyed', (call, code, message) => {
    send(call, 'callUpdated', { state: 'HANGUP' });
    send(call, 'callDestroyed', { reason_code: code, reason_message: message });
  });
  sip.on('muteForced', (call) => {
    send(call, 'muteForced');
  });
}
