import type { WebhookSender } from '../webhooks/WebhookSender.js';
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
 * through the webhook queue (stored, retried): `callCreated`, `callUpdated` with each state and
 * `HANGUP` at the end, `callDestroyed` with `reason_code` and `reason_message`, `muteForced`.
 */
export function sendSipCallbacks(
  sip: SipService,
  urlOf: (apiKey: string) => string | null,
  webhooks: WebhookSender,
): void {
  const send = (call: SipCallInfo, event: string, extra: object = {}): void => {
    const url = urlOf(call.apiKey);
    if (!url) return;
    webhooks.send(url, {
      sessionId: call.sessionId,
      projectId: call.apiKey,
      event,
      timestamp: Date.now(),
      call: { id: call.id, connectionId: call.connectionId, createdAt: call.createdAt },
      ...extra,
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
