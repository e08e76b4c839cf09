import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NotFoundError, OpenTok } from '@parlor/server-sdk';
import { startTestServer, waitFor, type TestServer } from '@parlor/server/testing';
import { freeUdpPort } from './baresip.js';
import { Sipp, type ScenarioName } from './sipp.js';

// SIP calls' failures and dialog events against sipp scripted endpoints, and the answers to bad
// dial requests: each with the right call events for the callbacks, the SIP connection and
// stream gone from the session when the call ends, and nothing left behind by the call.

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer({
    env: {
      PARLOR_SIP_PORT: String(await freeUdpPort()),
      // Past the 5 s a silent far end is given, short for the no-answer case.
      PARLOR_SIP_RING_TIMEOUT: '7',
      PARLOR_SIP_MAX_SESSION_CALLS: '1',
    },
  });
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
  parlor.server.sip.on('callUpdated', (call, state) => {
    if (state === 'active') answeredCalls.add(call.id);
  });
});

/** The calls that were answered. */
const answeredCalls = new Set<string>();
after(() => parlor.dispose());

/** The call events the service emitted, as `event[:state|:code]`. */
function recordCallEvents(): { events: string[]; stop: () => void } {
  const events: string[] = [];
  const { sip } = parlor.server;
  const onUpdated = (_call: unknown, state: string): void => {
    events.push(`callUpdated:${state}`);
  };
  const onDestroyed = (_call: unknown, code: number): void => {
    events.push(`callDestroyed:${code}`);
  };
  const onCreated = (): void => {
    events.push('callCreated');
  };
  const onMuteForced = (): void => {
    events.push('muteForced');
  };
  sip.on('muteForced', onMuteForced);
  sip.on('callCreated', onCreated);
  sip.on('callUpdated', onUpdated);
  sip.on('callDestroyed', onDestroyed);
  return {
    events,
    stop: () => {
      sip.off('callCreated', onCreated);
      sip.off('callUpdated', onUpdated);
      sip.off('callDestroyed', onDestroyed);
      sip.off('muteForced', onMuteForced);
    },
  };
}

/** The UDP sockets of this process, which the server runs in: its SIP port, flows, RTP sockets, router peers. */
async function udpSockets(): Promise<number> {
  // A socket closed a moment ago is listed until its handle's close completes, on a later turn.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return process.getActiveResourcesInfo().filter((kind) => kind === 'UDPWrap').length;
}

/** What the gateway and the process hold before a call, for `assertNothingLeftBehind`. */
async function heldBeforeCall(): Promise<{ udpSockets: number; flows: number }> {
  return { udpSockets: await udpSockets(), flows: parlor.server.sip.resources.flows };
}

/**
 * Nothing left behind once a call ended: the gateway holds no RTP socket, timer or router peer
 * for it, and the process has the UDP sockets it had before the call but for the gateway's
 * connections to far ends (shared by the calls to one far end, closed after 2 minutes idle).
 * Router peers close asynchronously, and a call hung up before it rang keeps its CANCEL's timer
 * for 5 s: waited for.
 */
async function assertNothingLeftBehind(before: { udpSockets: number; flows: number }): Promise<void> {
  const { sip } = parlor.server;
  const state = async (): Promise<unknown> => {
    const { flows, ...held } = sip.resources;
    return { ...held, udpSockets: (await udpSockets()) - (flows - before.flows) };
  };
  const released = { calls: 0, rtpSockets: 0, timers: 0, routerPeers: 0, udpSockets: before.udpSockets };
  const deadline = Date.now() + 10_000;
  while (!isDeepStrictEqual(await state(), released) && Date.now() < deadline);
  assert.deepEqual(await state(), released, 'what the call left behind');
}

/**
 * Dials the scenario's sipp into a routed session watched by a client, and waits for the call
 * to end; returns the call events, after checking that the client saw the SIP connection and
 * stream come and go and that sipp saw every message it expected.
 */
async function runScenario(
  name: ScenarioName | { name: ScenarioName; transport: 'tcp' },
  options: Parameters<OpenTok['dial']>[3] = {},
  during: (call: { connectionId: string; streamId: string; sessionId: string }) => Promise<void> = async () =>
    undefined,
): Promise<string[]> {
  const before = await heldBeforeCall();
  const sipp =
    typeof name === 'string' ? await Sipp.start(name) : await Sipp.start(name.name, name.transport);
  const recorder = recordCallEvents();
  try {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const watcher = await parlor.connectClient(sessionId);
    const call = await opentok.dial(sessionId, parlor.token(sessionId, { data: 'phone' }), sipp.uri, options);
    const created = await watcher.nextEvent('connectionCreated');
    assert.equal(created.connection.connectionId, call.connectionId);
    assert.equal(created.connection.data, 'phone');
    assert.equal((await watcher.nextEvent('streamCreated')).stream.streamId, call.streamId);
    await during({ connectionId: call.connectionId, streamId: call.streamId, sessionId });
    await waitFor(
      () => recorder.events.some((event) => event.startsWith('callDestroyed')),
      'the call to end',
    ).catch((error: unknown) => {
      console.log(sipp.log);
      throw error;
    });
    assert.equal((await watcher.nextEvent('streamDestroyed')).stream.streamId, call.streamId);
    assert.equal((await watcher.nextEvent('connectionDestroyed')).connection.connectionId, call.connectionId);
    assert.equal(await sipp.exited, 0, `sipp saw its scenario through:\n${sipp.log}`);
    assert.equal(parlor.server.sip.calls.length, 0);
    await watcher.close();
    await assertNothingLeftBehind(before);
    return recorder.events;
  } finally {
    recorder.stop();
    await sipp.close();
  }
}

describe('SIP calls against scripted endpoints', () => {
  it('a busy endpoint (486) ends the call with its status', async () => {
    const events = await runScenario('busy');
    assert.deepEqual(events, ['callCreated', 'callUpdated:dialing', 'callDestroyed:486']);
  });

  it("sends the SIP call monitoring callbacks to the project's SIP callback URL", async () => {
    const bodies: Record<string, unknown>[] = [];
    const receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sip`;
    const registered = (await (
      await parlor.rest('POST', '/callback', { group: 'sip', event: 'status', url })
    ).json()) as { id: string };
    try {
      await runScenario('busy');
      await waitFor(() => bodies.length >= 4, 'four callbacks');
      assert.deepEqual(
        bodies.map((body) => [body.event, body.state ?? body.reason_code ?? null]),
        [
          ['callCreated', null],
          ['callUpdated', 'DIALING'],
          ['callUpdated', 'HANGUP'],
          ['callDestroyed', 486],
        ],
      );
      const created = bodies[0] ?? {};
      assert.equal(created.projectId, parlor.apiKey);
      assert.equal(typeof created.timestamp, 'number');
      assert.deepEqual(Object.keys(created.call as object).sort(), ['connectionId', 'createdAt', 'id']);
      assert.equal(typeof bodies[3]?.reason_message, 'string');
    } finally {
      await parlor.rest('DELETE', `/callback/${registered.id}`);
      receiver.close();
    }
  });

  it('a declined call (603) ends with its status', async () => {
    const events = await runScenario('declined');
    assert.deepEqual(events, ['callCreated', 'callUpdated:dialing', 'callDestroyed:603']);
  });

  it('an endpoint that rings without answering is cancelled after the ring timeout', async () => {
    const events = await runScenario('noAnswer');
    assert.deepEqual(events, [
      'callCreated',
      'callUpdated:dialing',
      'callUpdated:ringing',
      'callDestroyed:408',
    ]);
  });

  it('a call hung up before the far end sent any provisional response is cancelled only once it rings', async () => {
    const events = await runScenario('slowToRing', {}, async ({ sessionId, connectionId }) => {
      await opentok.forceDisconnect(sessionId, connectionId);
    });
    assert.deepEqual(events, ['callCreated', 'callUpdated:dialing', 'callDestroyed:700']);
  });

  it("a digest challenge is answered with the dial request's credentials; force mute applies with observeForceMute", async () => {
    const events = await runScenario(
      'digest',
      { auth: { username: 'alice', password: 'wonderland' }, observeForceMute: true },
      async ({ sessionId, connectionId, streamId }) => {
        await waitFor(
          () => parlor.server.sip.calls.some((call) => answeredCalls.has(call.id)),
          'the call to be answered',
        );
        await opentok.forceMuteStream(sessionId, streamId);
        await opentok.forceDisconnect(sessionId, connectionId);
      },
    );
    assert.deepEqual(events, [
      'callCreated',
      'callUpdated:dialing',
      'callUpdated:active',
      'muteForced',
      'callDestroyed:700',
    ]);
  });

  it('the far end hanging up mid-call ends it', async () => {
    const events = await runScenario('hangsUp');
    assert.deepEqual(events, [
      'callCreated',
      'callUpdated:dialing',
      'callUpdated:active',
      'callDestroyed:700',
    ]);
  });

  it('a call over TCP is answered and hung up by the far end', async () => {
    const events = await runScenario({ name: 'hangsUp', transport: 'tcp' });
    assert.deepEqual(events, [
      'callCreated',
      'callUpdated:dialing',
      'callUpdated:active',
      'callDestroyed:700',
    ]);
  });

  it('a re-INVITE puts the call on hold and back', async () => {
    const events = await runScenario('hold');
    assert.deepEqual(events, [
      'callCreated',
      'callUpdated:dialing',
      'callUpdated:active',
      'callUpdated:onHold',
      'callUpdated:active',
      'callDestroyed:700',
    ]);
  });
});

describe('dial requests Parlor refuses, without calling anyone', () => {
  const dialBody = (sessionId: string, sip: Record<string, unknown>, token?: string): unknown => ({
    sessionId,
    ...(token === undefined ? {} : { token }),
    sip,
  });

  it('answers 400 for a malformed URI, a missing token, a bad header or video, 409 relayed, 404 unknown', async () => {
    const routed = await parlor.createSession({ mediaMode: 'routed' });
    const relayed = await parlor.createSession({ mediaMode: 'relayed' });
    const token = parlor.token(routed);
    const cases: [unknown, number][] = [
      [dialBody(routed, { uri: 'not a uri' }, token), 400],
      [dialBody(routed, { uri: 'http://127.0.0.1/' }, token), 400],
      [dialBody(routed, { uri: 'sip:a@127.0.0.1' }), 400],
      [dialBody(routed, { uri: 'sip:a@127.0.0.1' }, 'not a token'), 400],
      [dialBody(routed, { uri: 'sip:a@127.0.0.1', headers: { Via: 'x' } }, token), 400],
      [dialBody(routed, { uri: 'sip:a@127.0.0.1', headers: { 'X-Evil': 'a\r\nVia: b' } }, token), 400],
      [dialBody(routed, { uri: 'sip:a@127.0.0.1', video: true }, token), 400],
      [dialBody(relayed, { uri: 'sip:a@127.0.0.1' }, parlor.token(relayed)), 409],
      [dialBody('1_MX4xfn5-fn4', { uri: 'sip:a@127.0.0.1' }, token), 404],
    ];
    for (const [body, status] of cases) {
      const answer = await parlor.rest('POST', '/dial', body);
      assert.equal(answer.status, status, JSON.stringify(body));
      assert.equal(typeof ((await answer.json()) as { message?: unknown }).message, 'string');
    }
    assert.equal(parlor.server.rooms.get(routed), undefined);
    assert.equal(parlor.server.sip.calls.length, 0);
  });

  for (const transport of ['tcp', 'udp'] as const)
    it(`ends a call to a closed ${transport.toUpperCase()} port at once with 503`, async () => {
      const recorder = recordCallEvents();
      try {
        const before = await heldBeforeCall();
        const sessionId = await parlor.createSession({ mediaMode: 'routed' });
        const port = await freeUdpPort();
        const startedAt = Date.now();
        const call = await opentok.dial(
          sessionId,
          parlor.token(sessionId),
          `sip:nobody@127.0.0.1:${port};transport=${transport}`,
        );
        assert.ok(call.connectionId && call.streamId);
        await waitFor(() => recorder.events.includes('callDestroyed:503'), 'the call to fail');
        // Over UDP the ICMP port-unreachable tells, not the INVITE's 32 s timeout.
        assert.ok(Date.now() - startedAt < 10_000, `failed after ${Date.now() - startedAt} ms`);
        await waitFor(() => parlor.server.rooms.get(sessionId) === undefined, 'the session to close');
        await assertNothingLeftBehind(before);
      } finally {
        recorder.stop();
      }
    });

  it('ends a call to a UDP endpoint that never answers after a few retransmissions, with 408; one call per session with --sip-max-session-calls 1', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    let invites = 0;
    const others: string[] = [];
    const reasons: string[] = [];
    const onDestroyed = (_call: unknown, _code: number, message: string): void => {
      reasons.push(message);
    };
    parlor.server.sip.on('callDestroyed', onDestroyed);
    silent.on('message', (data) => {
      if (data.toString().startsWith('INVITE ')) invites += 1;
      else others.push(data.toString().split(' ')[0] ?? '');
    });
    const recorder = recordCallEvents();
    try {
      const before = await heldBeforeCall();
      const sessionId = await parlor.createSession({ mediaMode: 'routed' });
      const watcher = await parlor.connectClient(sessionId);
      const uri = `sip:nobody@127.0.0.1:${silent.address().port}`;
      const startedAt = Date.now();
      const call = await opentok.dial(sessionId, parlor.token(sessionId), uri);
      const second = await parlor.rest('POST', '/dial', {
        sessionId,
        token: parlor.token(sessionId),
        sip: { uri },
      });
      assert.equal(second.status, 429);
      assert.match(((await second.json()) as { message: string }).message, /in this session/);
      await waitFor(() => recorder.events.includes('callDestroyed:408'), 'the call to fail', 20_000);
      const tookMs = Date.now() - startedAt;
      assert.ok(tookMs < 15_000, `failed after ${tookMs} ms, not at the 32 s timeout`);
      assert.deepEqual(reasons, ['No response from the far end']);
      assert.ok(invites >= 3, `the INVITE was retransmitted (${invites} sent)`);
      assert.equal(
        (await watcher.nextEvent('connectionDestroyed')).connection.connectionId,
        call.connectionId,
      );
      // The transaction was given up: no more retransmissions.
      const sent = invites;
      await new Promise((resolve) => setTimeout(resolve, 5000));
      assert.equal(invites, sent);
      // Given up, not cancelled: a CANCEL goes only to a far end that answered something.
      assert.deepEqual(others, []);
      await watcher.close();
      await assertNothingLeftBehind(before);
    } finally {
      parlor.server.sip.off('callDestroyed', onDestroyed);
      recorder.stop();
      silent.close();
    }
  });

  it('play-dtmf refuses bad digits (400) and a connection that is no SIP call (404)', async () => {
    const { sessionId, alice } = await parlor.liveSession({ mediaMode: 'routed' });
    assert.equal(
      (await parlor.rest('POST', `/session/${sessionId}/play-dtmf`, { digits: '12a' })).status,
      400,
    );
    await assert.rejects(opentok.playDTMF(sessionId, alice.connectionId, '1'), NotFoundError);
    await opentok.playDTMF(sessionId, null, '1#p2');
  });
});
