// The far side of the forwarding benchmark, in its own process: sends a publisher's SRTP video
// packets to the router at a fixed rate and counts what comes back on a sink socket.
// argv: routerPort masterKeyHex masterSaltHex packetsPerSecond seconds
import { createSocket } from 'node:dgram';
import { deriveSrtpSessionKeys, SrtpContext } from '@parlor/server/media';

const [routerPort, keyHex, saltHex, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const publisher = new SrtpContext(
  deriveSrtpSessionKeys({
    profile: 'AEAD_AES_128_GCM',
    masterKey: Buffer.from(keyHex ?? '', 'hex'),
    masterSalt: Buffer.from(saltHex ?? '', 'hex'),
  }),
);
const sender = createSocket('udp4');
const sink = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
let received = 0;
sink.on('message', () => {
  received++;
});
await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
// Tell the router where to send, then wait for its go.
process.stdout.write(`${JSON.stringify({ sinkPort: sink.address().port })}\n`);
await new Promise((resolve) => process.stdin.once('data', resolve));

const payload = Buffer.alloc(12 + 1188, 0x77);
payload[0] = 0x80;
payload[1] = 96;
payload.writeUInt32BE(0x5eed5eed, 8);
let sequence = 0;
let sent = 0;
const started = performance.now();
const tickMs = 5;
const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - started) / 1000) * rate);
  while (sent < due) {
    payload.writeUInt16BE(sequence, 2);
    payload.writeUInt32BE((sequence * 3000) >>> 0, 4);
    sequence = (sequence + 1) & 0xffff;
    sender.send(publisher.protectRtp(payload), Number(routerPort), '127.0.0.1');
    sent++;
  }
  if (performance.now() - started >= seconds * 1000) {
    clearInterval(timer);
    // Let the last packets arrive before reporting.
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, received })}\n`);
      sender.close();
      sink.close();
    }, 300);
  }
}, tickMs);
