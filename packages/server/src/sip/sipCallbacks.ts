import type { OrderedEnqueuer } from '../webhooks/OrderedEnqueuer.js';
import type { SipCallInfo, SipService } from './SipService.js';
import type { SipCallState } from './SipCall.js';

const stateNames: Readonly<Record<Exclude<SipCallState, 'ended'>, string>> = {
  dialing: 'DIALING',
  ringing: 'RINGING',
  active: 'ACTIVE',
  onHold: 'ON_HOLD',
};

/**
 * Sends SIP call monitoring callbacks (server-api.md §9.2) to the project's SIP callback URL,
 * through the webhook queue (stored, retried, signed): `callCreated`, `callUpdated` with each
 * state and `HANGUP` at the end, `callDestroyed` with `reason_code` and `reason_message`,
 * `muteForced`. They are queued in the order they happened, one queue per session.
 */
export function sendSipCallbacks(
  sip: SipService,
  urlOf: (apiKey: string) => Promise<string | null>,
  enqueuer: OrderedEnqueuer,
): void {
  const send = (call: SipCallInfo, event: string, extra: object = {}): void => {
    enqueuer.enqueue({
      apiKey: call.apiKey,
      sessionId: call.sessionId,
      event,
      url: () => urlOf(call.apiKey),
      body: {
        sessionId: call.sessionId,
        projectId: call.apiKey,
        event,
        timestamp: Date.now(),
        call: { id: call.id, connectionId: call.connectionId, createdAt: call.createdAt },
        ...extra,
      },
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
