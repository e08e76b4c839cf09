import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deriveSrtpSessionKeys, RetransmissionBuffer, RtpRewriter, SrtpContext } from '@parlor/server/media';

export interface ForwardStep {
  readonly subscribers: number;
  /** Packets forwarded per second of wall time. */
  readonly forwardedPerSecond: number;
  /** Microseconds of router CPU per forwarded packet (receive, decrypt once, copy, rewrite, encrypt, send). */
  readonly microsPerPacket: number;
  /** Forwarded packets per second one fully used core would manage. */
  readonly packetsPerCoreSecond: number;
  /** Share of forwarded packets that did not reach the sink, in percent. */
  readonly lossPercent: number;
}

const peerScript = fileURLToPath(new URL('./forwardPeer.ts', import.meta.url));
const publisherRate = 500;
const seconds = 4;

/**
 * The forwarding path alone: a publisher process sends SRTP video to the router's UDP socket;
 * the router decrypts each packet once and, for every subscriber, copies it, rewrites SSRC,
 * sequence number and timestamp, encrypts it with the subscriber's SRTP context and sends it.
 */
export async function runForwardBench(
  subscriberCounts: readonly number[] = [10, 50, 100, 150],
): Promise<ForwardStep[]> {
  const steps: ForwardStep[] = [];
  for (const subscribers of subscriberCounts) steps.push(await runStep(subscribers));
  return steps;
}

async function runStep(subscriberCount: number): Promise<ForwardStep> {
  const masterKey = randomBytes(16);
  const masterSalt = randomBytes(12);
  const publisher = new SrtpContext(
    deriveSrtpSessionKeys({ profile: 'AEAD_AES_128_GCM', masterKey, masterSalt }),
  );
  const buffer = new RetransmissionBuffer();
  const subscribers = Array.from({ length: subscriberCount }, (_, i) => ({
    rewriter: new RtpRewriter(0x1000 + i, 90000),
    srtp: new SrtpContext(
      deriveSrtpSessionKeys({
        profile: 'AEAD_AES_128_GCM',
        masterKey: randomBytes(16),
        masterSalt: randomBytes(12),
      }),
    ),
  }));

  const socket = createSocket({ type: 'udp4', recvBufferSize: 16 << 20, sendBufferSize: 16 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const peerArgs = ['--conditions=source', '--import', 'tsx', peerScript, String(socket.address().port)];
  peerArgs.push(
    masterKey.toString('hex'),
    masterSalt.toString('hex'),
    String(publisherRate),
    String(seconds),
  );
  const peer = existsSync('/usr/bin/taskset')
    ? spawn('/usr/bin/taskset', ['-c', '1', process.execPath, ...peerArgs], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, peerArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
  const { sinkPort } = JSON.parse(String((await lines.next()).value)) as { sinkPort: number };

  let forwarded = 0;
  socket.on('message', (packet) => {
    const rtp = publisher.unprotectRtp(packet);
    if (!rtp) return;
    buffer.store(rtp.readUInt16BE(2), rtp);
    const now = Date.now();
    for (const subscriber of subscribers) {
      const copy = Buffer.allocUnsafe(rtp.length);
      rtp.copy(copy);
      if (!subscriber.rewriter.rewrite(copy, 96, now)) continue;
      socket.send(subscriber.srtp.protectRtp(copy), sinkPort, '127.0.0.1');
      forwarded++;
    }
  });

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  peer.stdin.write('go\n');
  const { received } = JSON.parse(String((await lines.next()).value)) as { sent: number; received: number };
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  socket.close();
  peer.stdin.end();
  return {
    subscribers: subscriberCount,
    forwardedPerSecond: forwarded / elapsedSeconds,
    microsPerPacket: (cpuSeconds * 1e6) / Math.max(1, forwarded),
    packetsPerCoreSecond: forwarded / cpuSeconds,
    lossPercent: forwarded > 0 ? (100 * Math.max(0, forwarded - received)) / forwarded : 0,
  };
}
