import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import { OpenTok } from '@parlor/server-sdk';
import { sippScenarioFile } from '@parlor/server/sip/testing';
import { forwardingLatency, joinAudioPairs } from './audioForwarding.js';
import { ServerProcess, terminate } from './serverProcess.js';

export interface SipStepFigures {
  readonly calls: number;
  /** Dials Parlor refused (at capacity). */
  readonly refused: number;
  /** Calls that were answered (ACTIVE callbacks) of those dialled. */
  readonly answered: number;
  /** Server process CPU (all threads) over the window, % of one core. */
  readonly serverCpuPercent: number;
  /** The same, less the server idle with no call, per call answered. */
  readonly cpuPercentPerCall: number;
  /** A REST request's time (`GET /health`, one at a time) while the calls run: whether they hold up the main thread, ms. */
  readonly restP50Ms: number;
  readonly restP99Ms: number;
  /** Mouth-to-ear through the gateway, from one probe call to another in one session, ms. */
  readonly latencyP50Ms: number;
  readonly latencyMaxMs: number;
  /** The baseline: as many WebRTC participants (two to a session) sending the same audio through the router. */
  readonly forwarding: {
    readonly serverCpuPercent: number;
    readonly cpuPercentPerParticipant: number;
    /** From one participant to the other, ms. */
    readonly latencyP50Ms: number;
    readonly latencyMaxMs: number;
  };
}

export interface SipFigures {
  readonly windowSeconds: number;
  readonly idleCpuPercent: number;
  readonly steps: readonly SipStepFigures[];
}

const windowSeconds = 10;
/** Tone bursts sent by the probe's speaker at each step. */
const bursts = 8;

/**
 * SIP interconnect under load: Parlor (built, one media worker) pinned to core 0, sipp on core 1
 * as the far end of N calls, two calls per routed session, each echoing the RTP it gets (so every
 * call carries 50 packets/s each way, PCMU, through decode, Opus, the router and the mix). For each
 * N: the server's CPU over a window, and the latency a tone takes from one probe call's far end
 * to another's in a session of its own (our own minimal far ends on UDP sockets). Beside it, the
 * baseline: N WebRTC participants sending the same 50 packets/s of audio through the router
 * alone, and the latency of a burst from one to another.
 */
export async function runSipBench(steps: readonly number[]): Promise<SipFigures> {
  const sipPort = await freeUdpPort();
  const server = await ServerProcess.start({
    core: 0,
    mediaWorkers: 1,
    serverFlags: [
      ...['--sip-port', String(sipPort), '--sip-max-calls', '1000', '--sip-max-session-calls', '10'],
      // The SIP callbacks come to the benchmark on loopback.
      ...['--callback-allowed-ip', '127.0.0.1'],
      // Measured, not refused: the worker may read as busy on a shared machine.
      ...['--media-admission-max-lag-ms', '2000', '--media-admission-max-utilization', '1'],
    ],
  });
  const opentok = new OpenTok(server.apiKey, server.apiSecret, { apiUrl: server.url });
  const callbacks = await CallbackReceiver.start();
  const sipp = await SippEcho.start();
  try {
    await registerSipCallback(server, callbacks.url);
    const idleCpuPercent = await cpuPercentOver(server, windowSeconds);
    const figures: SipStepFigures[] = [];
    for (const calls of steps) {
      const { connections, refused } = await dialPairs(opentok, sipp.uri, calls);
      const answered = await callbacks.waitForActive(
        connections.map((c) => c.connectionId),
        30_000,
      );
      await sleep(2000);
      const serverCpuPercent = await cpuPercentOver(server, windowSeconds);
      const rest = await restLatencies(server);
      const latencies = await probeLatency(opentok);
      for (const { sessionId, connectionId } of connections)
        await opentok.forceDisconnect(sessionId, connectionId).catch(() => undefined);
      await callbacks.waitForDestroyed(
        connections.map((c) => c.connectionId),
        30_000,
      );
      const forwarding = await measureForwarding(server, opentok, calls, idleCpuPercent);
      latencies.sort((a, b) => a - b);
      figures.push({
        calls,
        refused,
        answered,
        serverCpuPercent,
        cpuPercentPerCall: (serverCpuPercent - idleCpuPercent) / Math.max(answered, 1),
        restP50Ms: rest[Math.floor(rest.length / 2)] ?? Number.NaN,
        restP99Ms: rest[Math.floor(rest.length * 0.99)] ?? Number.NaN,
        latencyP50Ms: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
        latencyMaxMs: latencies.at(-1) ?? Number.NaN,
        forwarding,
      });
    }
    return { windowSeconds, idleCpuPercent, steps: figures };
  } finally {
    await sipp.close();
    callbacks.close();
    await server.stop();
  }
}

/** The baseline at one step: `participants` WebRTC participants' CPU, and a burst's latency through the router. */
async function measureForwarding(
  server: ServerProcess,
  opentok: OpenTok,
  participants: number,
  idleCpuPercent: number,
): Promise<SipStepFigures['forwarding']> {
  const joined = await joinAudioPairs(server.url, opentok, participants);
  try {
    await sleep(2000);
    const serverCpuPercent = await cpuPercentOver(server, windowSeconds);
    const latencies = (await forwardingLatency(server.url, opentok, bursts)).sort((a, b) => a - b);
    return {
      serverCpuPercent,
      cpuPercentPerParticipant: (serverCpuPercent - idleCpuPercent) / participants,
      latencyP50Ms: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
      latencyMaxMs: latencies.at(-1) ?? Number.NaN,
    };
  } finally {
    for (const participant of joined) await participant.close();
  }
}

/** Dials `calls` calls to the far end, two into each new routed session. */
async function dialPairs(
  opentok: OpenTok,
  uri: string,
  calls: number,
): Promise<{ connections: { sessionId: string; connectionId: string }[]; refused: number }> {
  const connections: { sessionId: string; connectionId: string }[] = [];
  let refused = 0;
  for (let n = 0; n < calls; n += 2) {
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    for (let k = n; k < Math.min(n + 2, calls); k++) {
      try {
        const call = await opentok.dial(sessionId, opentok.generateToken(sessionId), uri);
        connections.push({ sessionId, connectionId: call.connectionId });
      } catch {
        refused += 1;
      }
    }
  }
  return { connections, refused };
}

/** The times of 200 `GET /health`, one after another, sorted, ms. */
async function restLatencies(server: ServerProcess): Promise<number[]> {
  const times: number[] = [];
  for (let n = 0; n < 200; n++) {
    const start = performance.now();
    await (await fetch(`${server.url}/health`)).arrayBuffer();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

async function cpuPercentOver(server: ServerProcess, seconds: number): Promise<number> {
  const start = server.cpuSeconds();
  const startedAt = Date.now();
  await sleep(seconds * 1000);
  return ((server.cpuSeconds() - start) / ((Date.now() - startedAt) / 1000)) * 100;
}

async function registerSipCallback(server: ServerProcess, url: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign({ iss: server.apiKey, ist: 'project', iat: now, exp: now + 300 }, server.apiSecret, {
    algorithm: 'HS256',
  });
  const response = await fetch(`${server.url}/v2/project/${server.apiKey}/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-OPENTOK-AUTH': auth },
    body: JSON.stringify({ group: 'sip', event: 'status', url }),
  });
  if (!response.ok) throw new Error(`registering the SIP callback: ${response.status}`);
}

/** Receives the SIP callbacks: which calls are active, which destroyed. */
class CallbackReceiver {
  readonly active = new Set<string>();
  readonly destroyed = new Set<string>();
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<CallbackReceiver> {
    const receiver: CallbackReceiver = new CallbackReceiver(
      createServer((request, response) => {
        let text = '';
        request.on('data', (chunk: Buffer) => (text += chunk.toString()));
        request.on('end', () => {
          const body = JSON.parse(text) as { event: string; state?: string; call: { connectionId: string } };
          if (body.event === 'callUpdated' && body.state === 'ACTIVE')
            receiver.active.add(body.call.connectionId);
          if (body.event === 'callDestroyed') receiver.destroyed.add(body.call.connectionId);
          response.end();
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/sip`;
  }

  /** Waits until these calls are active (or the time is up); how many are. */
  async waitForActive(connectionIds: readonly string[], timeoutMs: number): Promise<number> {
    return this.#waitFor(this.active, connectionIds, timeoutMs);
  }

  async waitForDestroyed(connectionIds: readonly string[], timeoutMs: number): Promise<number> {
    return this.#waitFor(this.destroyed, connectionIds, timeoutMs);
  }

  async #waitFor(set: Set<string>, ids: readonly string[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const count = (): number => ids.filter((id) => set.has(id)).length;
    while (count() < ids.length && Date.now() < deadline) await sleep(100);
    return count();
  }

  close(): void {
    this.#server.close();
  }
}

/** sipp, pinned to core 1, answering every call and echoing its RTP (`-rtp_echo`). */
class SippEcho {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.#child = child;
    this.#dir = dir;
  }

  static async start(): Promise<SippEcho> {
    if (!existsSync('/usr/bin/sipp'))
      throw new Error('the sip benchmark needs sipp (apt-get install sip-tester)');
    const port = await freeUdpPort();
    const mediaPort = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'parlor-sip-bench-'));
    writeFileSync(join(dir, 'echo.xml'), sippScenarioFile('answersUntilBye'));
    const args = [
      '-sf',
      join(dir, 'echo.xml'),
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-mp',
      String(mediaPort),
      '-rtp_echo',
      '-nostdin',
    ];
    // taskset execs sipp: the child's process is sipp's.
    const [command = 'sipp', ...rest] = existsSync('/usr/bin/taskset')
      ? ['/usr/bin/taskset', '-c', '1', 'sipp', ...args]
      : ['sipp', ...args];
    const child = spawn(command, rest, { stdio: 'ignore', cwd: dir });
    await sleep(500);
    if (child.exitCode !== null) throw new Error(`sipp exited with ${child.exitCode}`);
    return new SippEcho(port, child, dir);
  }

  get uri(): string {
    return `sip:echo@127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await terminate(this.#child);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Two probe calls in a session of their own, to far ends of ours: the speaker sends PCMU silence
 * with a 100 ms burst of a loud square wave now and then; the listener times when the burst
 * reaches it. Returns the delays, ms.
 */
async function probeLatency(opentok: OpenTok): Promise<number[]> {
  const speaker = await ProbeEnd.start();
  const listener = await ProbeEnd.start();
  try {
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const calls = [];
    for (const end of [speaker, listener])
      calls.push(await opentok.dial(sessionId, opentok.generateToken(sessionId), end.uri));
    const deadline = Date.now() + 20_000;
    while ((!speaker.remote || !listener.remote) && Date.now() < deadline) await sleep(50);
    let burstAt = Number.NEGATIVE_INFINITY;
    listener.startSending(() => false);
    speaker.startSending((now) => now - burstAt < 100);
    await sleep(2000);
    const delays: number[] = [];
    for (let burst = 0; burst < bursts; burst++) {
      listener.listenAgain();
      burstAt = Date.now();
      while (listener.heardAt() === null && Date.now() - burstAt < 3000) await sleep(2);
      const heardAt = listener.heardAt();
      if (heardAt !== null) delays.push(heardAt - burstAt);
      // Quiet again before the next burst.
      await sleep(700);
    }
    for (const call of calls)
      await opentok.forceDisconnect(sessionId, call.connectionId).catch(() => undefined);
    return delays;
  } finally {
    speaker.close();
    listener.close();
  }
}

/** A far end of our own on a UDP socket: answers one INVITE (PCMU), sends and reads RTP. */
class ProbeEnd {
  readonly #sip: Socket;
  readonly #rtp: Socket;
  remote: { address: string; port: number } | null = null;
  /** When loud audio began to arrive since `listenAgain`, ms. */
  #loudSince: number | null = null;
  #timer: NodeJS.Timeout | null = null;

  private constructor(sip: Socket, rtp: Socket) {
    this.#sip = sip;
    this.#rtp = rtp;
    sip.on('message', (data, from) => {
      this.#onSip(data.toString('binary'), from);
    });
    let loud = false;
    rtp.on('message', (packet) => {
      if (packet.length < 12 + 160 || (packet[1] ?? 0) & 0x7f) return;
      // µ-law: the lower 7 bits, inverted, grow with the magnitude.
      let sum = 0;
      for (let i = 12; i < packet.length; i++) sum += 0x7f - ((packet[i] ?? 0xff) & 0x7f);
      const nowLoud = sum / (packet.length - 12) > 48;
      if (nowLoud && !loud && this.#loudSince === null) this.#loudSince = Date.now();
      loud = nowLoud;
    });
  }

  static async start(): Promise<ProbeEnd> {
    const sip = createSocket('udp4');
    const rtp = createSocket('udp4');
    await Promise.all([
      new Promise<void>((resolve) => sip.bind(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => rtp.bind(0, '127.0.0.1', resolve)),
    ]);
    return new ProbeEnd(sip, rtp);
  }

  heardAt(): number | null {
    return this.#loudSince;
  }

  listenAgain(): void {
    this.#loudSince = null;
  }

  get uri(): string {
    return `sip:probe@127.0.0.1:${this.#sip.address().port}`;
  }

  /** Sends a PCMU frame every 20 ms: loud when `loud(now)` says so, else silence. */
  startSending(loud: (now: number) => boolean): void {
    let sequence = 0;
    let timestamp = 0;
    const ssrc = Math.floor(Math.random() * 0xffffffff);
    const started = Date.now();
    let sent = 0;
    const tick = (): void => {
      const remote = this.remote;
      while (remote && started + sent * 20 <= Date.now()) {
        const packet = Buffer.alloc(12 + 160, 0xff);
        packet[0] = 0x80;
        packet[1] = 0;
        packet.writeUInt16BE(sequence++ & 0xffff, 2);
        packet.writeUInt32BE(timestamp >>> 0, 4);
        packet.writeUInt32BE(ssrc, 8);
        timestamp += 160;
        if (loud(Date.now()))
          for (let i = 0; i < 160; i++) packet[12 + i] = Math.floor(i / 4) % 2 === 0 ? 0x90 : 0x10;
        this.#rtp.send(packet, remote.port, remote.address);
        sent++;
      }
      this.#timer = setTimeout(tick, 5);
    };
    tick();
  }

  #onSip(text: string, from: RemoteInfo): void {
    const [startLine = ''] = text.split('\r\n');
    const header = (name: string): string[] =>
      text.split('\r\n').filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const method = startLine.split(' ')[0];
    if (method === 'ACK' || startLine.startsWith('SIP/2.0')) return;
    const common = [...header('Via'), ...header('From')];
    const to = header('To')[0] ?? '';
    const rest = [...header('Call-ID'), ...header('CSeq')];
    let body = '';
    if (method === 'INVITE') {
      const address = /c=IN IP4 (\S+)/.exec(text)?.[1] ?? '127.0.0.1';
      const port = Number(/m=audio (\d+)/.exec(text)?.[1]);
      this.remote = { address, port };
      body = `v=0\r\no=probe 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${this.#rtp.address().port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
    }
    const response = [
      'SIP/2.0 200 OK',
      ...common,
      to.includes('tag=') ? to : `${to};tag=probe`,
      ...rest,
      `Contact: <sip:probe@127.0.0.1:${this.#sip.address().port}>`,
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${body.length}`,
      '',
      body,
    ].join('\r\n');
    this.#sip.send(Buffer.from(response, 'binary'), from.port, from.address);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#sip.close();
    this.#rtp.close();
  }
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}
