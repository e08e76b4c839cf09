import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FanOutGroup } from '../router/FanOutGroup.js';
import {
  ingressDropped,
  ingressRecord,
  ingressRecordLength,
  NativeIngress,
} from '../router/NativeIngress.js';
import { nativeAddon, udpReaderMaxRoutes, udpReaderSlotSize } from '../srtp/dataPlane.js';
import { deriveSrtpSessionKeys } from '../srtp/keyDerivation.js';
import { SrtpContext } from '../srtp/SrtpContext.js';
import type { IceLiteEndpoint } from './IceLiteEndpoint.js';
import {
  decodeXorAddress,
  findAttribute,
  hasValidFingerprint,
  hasValidIntegrity,
  parseStun,
  serializeStun,
  stunAttributes,
  stunMessageTypes,
} from './stun.js';
import { readInBatches } from './batchedReads.js';
import { ipv4String, maxAddressesPerEndpoint, UdpMux } from './UdpMux.js';

let mux: UdpMux;
let client: Socket;

/** The browser side of a connectivity check: a binding request as Chromium sends it. */
function bindingRequest(
  endpoint: IceLiteEndpoint,
  options: { password?: string; nominate?: boolean } = {},
): Buffer {
  const attributes: { type: number; value: Buffer }[] = [
    { type: stunAttributes.username, value: Buffer.from(`${endpoint.usernameFragment}:browser`) },
    { type: stunAttributes.priority, value: Buffer.from('6e0001ff', 'hex') },
    { type: stunAttributes.iceControlling, value: randomBytes(8) },
  ];
  if (options.nominate) attributes.push({ type: stunAttributes.useCandidate, value: Buffer.alloc(0) });
  return serializeStun(
    { type: stunMessageTypes.bindingRequest, transactionId: randomBytes(12), attributes },
    options.password ?? endpoint.password,
  );
}

async function exchange(request: Buffer, timeoutMs = 300): Promise<Buffer | null> {
  client.send(request, mux.port, '127.0.0.1');
  const reply = once(client, 'message').then(([message]) => message as Buffer);
  const timeout = new Promise<null>((resolve) =>
    setTimeout(() => {
      resolve(null);
    }, timeoutMs),
  );
  return Promise.race([reply, timeout]);
}

/** `count` sockets on loopback addresses of their own, `base` + 1 on (`base` as 127.x.y.z is `0x7fxxxxxx`). */
async function loopbackSockets(base: number, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, ipv4String(base + i + 1), resolve));
      return socket;
    }),
  );
}

/**
 * Sends one check for `endpoint` from each socket to `port` and waits for every answer. Once:
 * loopback loses nothing with the mux's buffer, and a check sent again from an address forgotten
 * meanwhile would make it new again.
 */
async function checkFrom(sockets: readonly Socket[], endpoint: IceLiteEndpoint, port: number): Promise<void> {
  await Promise.all(
    sockets.map(async (socket) => {
      const answered = once(socket, 'message', { signal: AbortSignal.timeout(10_000) });
      socket.send(bindingRequest(endpoint), port, '127.0.0.1');
      await answered;
    }),
  );
}

/** node:dgram's reads, and the addon's batched ones where it built. */
const readModes = nativeAddon.available ? [false, true] : [false];

for (const batchedReads of readModes)
  describe(`the UDP mux (ICE-lite, read ${batchedReads ? 'in batches by the addon' : 'by node:dgram'})`, () => {
    before(async () => {
      mux = await UdpMux.bind({ host: '127.0.0.1', batchedReads });
      client = createSocket('udp4');
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    });
    after(() => {
      mux.close();
      client.close();
    });

    it('answers an authenticated check with its address, signed with the local password', async () => {
      const endpoint = mux.createEndpoint();
      const reply = await exchange(bindingRequest(endpoint, { nominate: true }));
      assert.ok(reply);
      const message = parseStun(reply);
      assert.ok(message);
      assert.equal(message.type, stunMessageTypes.bindingSuccess);
      assert.ok(hasValidIntegrity(message, endpoint.password) && hasValidFingerprint(message));
      const mapped = findAttribute(message, stunAttributes.xorMappedAddress);
      assert.deepEqual(mapped && decodeXorAddress(mapped.value, message.transactionId), {
        address: '127.0.0.1',
        port: client.address().port,
      });
      assert.equal(endpoint.state, 'connected');
      assert.deepEqual(endpoint.remoteAddress, { address: '127.0.0.1', port: client.address().port });
      endpoint.close();
    });

    it('ignores checks with a wrong password or an unknown fragment', async () => {
      const endpoint = mux.createEndpoint();
      assert.equal(await exchange(bindingRequest(endpoint, { password: 'not the password' })), null);
      const stranger = mux.createEndpoint();
      stranger.close();
      assert.equal(await exchange(bindingRequest(stranger)), null);
      assert.equal(endpoint.state, 'new');
      endpoint.close();
    });

    it('routes other datagrams from the checked address to the endpoint, and sends back there', async () => {
      const endpoint = mux.createEndpoint();
      await exchange(bindingRequest(endpoint, { nominate: true }));
      const received = new Promise<Buffer>((resolve) => endpoint.once('packet', resolve));
      const dtlsLike = Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1]);
      client.send(dtlsLike, mux.port, '127.0.0.1');
      assert.deepEqual(await received, dtlsLike);

      const back = once(client, 'message');
      endpoint.send(Buffer.from('media'));
      assert.equal(((await back)[0] as Buffer).toString(), 'media');
      endpoint.close();
    });

    it('hands on a burst of datagrams in order, and what an endpoint keeps stays as it came', async () => {
      const endpoint = mux.createEndpoint();
      await exchange(bindingRequest(endpoint, { nominate: true }));
      const dtls: Buffer[] = [];
      const sequences: number[] = [];
      endpoint.on('packet', (packet) => {
        if (packet[0] !== 0x80) {
          dtls.push(packet);
          return;
        }
        // Media is read as it comes: its memory may be reused after.
        const n = packet.readUInt16BE(2);
        assert.equal(packet.length, 100 + (n % 50));
        assert.equal(packet[packet.length - 1], n & 0xff);
        sequences.push(n);
      });
      // DTLS first (an endpoint may hold it past the batch), then RTP-like datagrams behind it.
      const dtlsLike = Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa]);
      client.send(dtlsLike, mux.port, '127.0.0.1');
      const burst = 200;
      for (let n = 0; n < burst; n++) {
        const rtp = Buffer.alloc(100 + (n % 50), n & 0xff);
        rtp[0] = 0x80;
        rtp.writeUInt16BE(n, 2);
        client.send(rtp, mux.port, '127.0.0.1');
      }
      const deadline = Date.now() + 5000;
      while (sequences.length < burst && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(dtls, [dtlsLike]);
      // Loopback may drop under load; what came, came whole and in order.
      assert.ok(sequences.length > burst / 2, `${sequences.length} of ${burst}`);
      assert.deepEqual(
        sequences,
        [...sequences].sort((a, b) => a - b),
      );
      endpoint.close();
    });

    it('hands on DTLS datagrams one at a time: the promises one starts settle before the next', async () => {
      // werift's server chains promises on a datagram; fed a ClientHello and its retransmission
      // in one go, it answered both and the handshake wedged (forward bench, batched reads).
      const endpoint = mux.createEndpoint();
      await exchange(bindingRequest(endpoint, { nominate: true }));
      const events: string[] = [];
      endpoint.on('packet', (packet) => {
        const n = packet[packet.length - 1] as number;
        events.push(`datagram ${n}`);
        void Promise.resolve().then(() => events.push(`settled ${n}`));
      });
      for (let n = 0; n < 3; n++)
        client.send(Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, n]), mux.port, '127.0.0.1');
      await waitUntil(() => events.length === 6);
      assert.deepEqual(events, [
        'datagram 0',
        'settled 0',
        'datagram 1',
        'settled 1',
        'datagram 2',
        'settled 2',
      ]);
      endpoint.close();
    });

    it('marks a peer disconnected when its consent lapses, and forgets it on close', async () => {
      const endpoint = mux.createEndpoint();
      await exchange(bindingRequest(endpoint));
      const states: string[] = [];
      endpoint.on('stateChange', (state) => states.push(state));
      endpoint.checkConsent(endpoint.lastConsent + 1);
      // What the peer sends meanwhile is dropped, and counted; once forgotten, it is unrouted.
      const before = mux.udpStats;
      client.send(Buffer.from([0x80, 96, 0, 1]), mux.port, '127.0.0.1');
      await waitUntil(() => mux.udpStats.lapsed === before.lapsed + 1);
      endpoint.close();
      client.send(Buffer.from([0x80, 96, 0, 2]), mux.port, '127.0.0.1');
      await waitUntil(() => mux.udpStats.unrouted === before.unrouted + 1);
      assert.equal(mux.udpStats.datagrams, before.datagrams + 2);
      assert.equal(mux.udpStats.stun, before.stun);
      assert.deepEqual(states, ['disconnected', 'closed']);
      assert.equal(await exchange(bindingRequest(endpoint)), null);
    });

    it('keeps at most 8 addresses of an endpoint checking from many ports: the least recently checked go, never its selected path', async (t) => {
      assert.equal(maxAddressesPerEndpoint, 8);
      const endpoint = mux.createEndpoint();
      const others = await loopbackSockets(0x7f010000, 21);
      t.after(() => {
        endpoint.close();
        for (const socket of others) socket.close();
      });
      await exchange(bindingRequest(endpoint, { nominate: true }));
      const before = mux.udpStats;
      await checkFrom(others.slice(0, 20), endpoint, mux.port);
      // The selected path and the 7 most recent stay: 0–12 are forgotten. 13, checked again, is
      // more recent than 14, which goes when 20 comes.
      await checkFrom([others[13] as Socket], endpoint, mux.port);
      await checkFrom([others[20] as Socket], endpoint, mux.port);
      assert.equal(mux.udpStats.evicted - before.evicted, 14);

      const received: number[] = [];
      endpoint.on('packet', (packet) => received.push(packet.at(-1) as number));
      // DTLS-like, so that JavaScript sees it on both data planes; the last byte tells the sender.
      const datagram = (from: number): Buffer => Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, from]);
      client.send(datagram(100), mux.port, '127.0.0.1');
      for (const [i, socket] of others.entries()) socket.send(datagram(i), mux.port, '127.0.0.1');
      await waitUntil(() => mux.udpStats.unrouted - before.unrouted === 14 && received.length === 8);
      assert.deepEqual(
        received.sort((a, b) => a - b),
        [13, 15, 16, 17, 18, 19, 20, 100],
      );
      assert.deepEqual(endpoint.remoteAddress, { address: '127.0.0.1', port: client.address().port });
      const back = once(client, 'message');
      endpoint.send(Buffer.from('media'));
      assert.equal(((await back)[0] as Buffer).toString(), 'media');
    });

    it('answers checks and carries packets over ICE-TCP, framed as RFC 4571 says', async () => {
      const tcpMux = await UdpMux.bind({ host: '127.0.0.1', tcp: true });
      try {
        assert.ok(tcpMux.acceptsTcp);
        const endpoint = tcpMux.createEndpoint();
        const connection = createConnection(tcpMux.port, '127.0.0.1');
        await once(connection, 'connect');
        const frames: Buffer[] = [];
        let pending = Buffer.alloc(0);
        connection.on('data', (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
            frames.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
            pending = pending.subarray(2 + pending.readUInt16BE(0));
          }
        });
        const frame = (packet: Buffer): Buffer =>
          Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet]);
        const check = bindingRequest(endpoint, { nominate: true });
        // Split across two writes: frames need not arrive whole.
        connection.write(frame(check).subarray(0, 10));
        connection.write(frame(check).subarray(10));
        await waitUntil(() => frames.length === 1);
        const response = parseStun(frames[0] as Buffer);
        assert.ok(response && hasValidIntegrity(response, endpoint.password));
        assert.equal(endpoint.protocol, 'tcp');

        const received = new Promise<Buffer>((resolve) => endpoint.once('packet', resolve));
        connection.write(frame(Buffer.from([22, 254, 253, 1, 2, 3])));
        assert.deepEqual(await received, Buffer.from([22, 254, 253, 1, 2, 3]));
        endpoint.send(Buffer.from('media'));
        await waitUntil(() => frames.length === 2);
        assert.equal(frames[1]?.toString(), 'media');
        connection.destroy();
      } finally {
        tcpMux.close();
      }
    });

    it('bounds the UDP addresses of an endpoint whose selected path is ICE-TCP, and keeps that path', async () => {
      const tcpMux = await UdpMux.bind({ host: '127.0.0.1', tcp: true, batchedReads });
      const others = await loopbackSockets(0x7f030000, maxAddressesPerEndpoint + 2);
      try {
        const endpoint = tcpMux.createEndpoint();
        const connection = createConnection(tcpMux.port, '127.0.0.1');
        await once(connection, 'connect');
        let received = Buffer.alloc(0);
        connection.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
        });
        const check = bindingRequest(endpoint, { nominate: true });
        connection.write(Buffer.concat([Buffer.from([check.length >> 8, check.length & 0xff]), check]));
        await waitUntil(() => endpoint.protocol === 'tcp');
        await checkFrom(others, endpoint, tcpMux.port);
        // No UDP address is the selected path: the two oldest go.
        assert.equal(tcpMux.udpStats.evicted, 2);
        assert.equal(endpoint.protocol, 'tcp');
        const before = received.length;
        endpoint.send(Buffer.from('media'));
        await waitUntil(() => received.length === before + 7);
        assert.equal(received.subarray(before + 2).toString(), 'media');
        connection.destroy();
      } finally {
        tcpMux.close();
        for (const socket of others) socket.close();
      }
    });
  });

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'timed out');
}

describe('read in batches', { skip: !nativeAddon.available }, () => {
  it('reads on past a full batch and past a wakeup’s last batch: nothing waits in the socket', async () => {
    const socket = createSocket('udp4');
    const sender = createSocket('udp4');
    await Promise.all([
      new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve)),
      new Promise<void>((resolve) => sender.bind(0, '127.0.0.1', resolve)),
    ]);
    socket.setRecvBufferSize(1 << 20);
    const batches: number[] = [];
    const firsts: number[] = [];
    const send = (from: number, count: number): void => {
      for (let n = from; n < from + count; n++)
        sender.send(Buffer.from([n >> 8, n & 0xff]), socket.address().port, '127.0.0.1');
    };
    const errors: Error[] = [];
    const reader = readInBatches(
      socket,
      (batch, count) => {
        batches.push(count);
        firsts.push(batch.data.readUInt16BE(0));
      },
      (error) => errors.push(error),
    );
    // Queued in one turn of the loop: 9 full batches, one more than a wakeup reads; then exactly
    // one full batch, then one datagram (a poll left unarmed after a batch ending at 32 misses it).
    send(0, 288);
    assert.ok(reader);
    try {
      await waitUntil(() => batches.length === 9);
      send(288, 32);
      await waitUntil(() => batches.length === 10);
      send(320, 1);
      await waitUntil(() => batches.length === 11);
      assert.deepEqual(batches, [...Array<number>(10).fill(32), 1]);
      assert.deepEqual(firsts, [...Array.from({ length: 11 }, (_, i) => i * 32)]);
      assert.deepEqual(errors, []);
    } finally {
      reader.close();
      socket.close();
      sender.close();
    }
  });

  it('reads on after a socket error (a port unreachable), which stops libuv’s poll', async () => {
    // A connected socket gets the ICMP error of a send to a closed port as a pending error:
    // epoll reports POLLERR and libuv stops the poll; the reader clears it and polls again.
    const socket = createSocket('udp4');
    let peer = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const peerPort = peer.address().port;
    await new Promise<void>((resolve) => {
      socket.connect(peerPort, '127.0.0.1', resolve);
    });
    socket.on('error', () => undefined);
    const received: number[] = [];
    const errors: Error[] = [];
    const reader = readInBatches(
      socket,
      (batch, count) => {
        for (let i = 0; i < count; i++) received.push(batch.data[i * udpReaderSlotSize] as number);
      },
      (error) => errors.push(error),
    );
    assert.ok(reader);
    try {
      peer.send(Buffer.from([1]), socket.address().port, '127.0.0.1');
      await waitUntil(() => received.length === 1);
      await new Promise<void>((resolve) => peer.close(resolve));
      socket.send(Buffer.from([0]));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The same port again (the kernel freed it), so that the connected socket takes its datagrams.
      peer = createSocket('udp4');
      await new Promise<void>((resolve) => peer.bind(peerPort, '127.0.0.1', resolve));
      peer.send(Buffer.from([2]), socket.address().port, '127.0.0.1');
      await waitUntil(() => received.length === 2);
      assert.deepEqual(received, [1, 2]);
      assert.deepEqual(errors, []);
    } finally {
      reader.close();
      socket.close();
      peer.close();
    }
  });
});

describe('a publisher’s RTP routed to its ingress in C', { skip: !nativeAddon.available }, () => {
  const keys = (seed: number) =>
    deriveSrtpSessionKeys({
      profile: 'AEAD_AES_128_GCM',
      masterKey: Buffer.alloc(16, seed),
      masterSalt: Buffer.alloc(12, seed + 1),
    });
  /** A VP8 keyframe's packet of `ssrc`, sealed by the publisher. */
  const publisher = new SrtpContext(keys(1), 'native');
  const srtp = (ssrc: number, sequence: number): Buffer => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 96;
    header.writeUInt16BE(sequence, 2);
    header.writeUInt32BE(sequence * 3000, 4);
    header.writeUInt32BE(ssrc, 8);
    const vp8 = [
      0x90,
      0xe0,
      0x81,
      sequence & 0xff,
      0x07,
      0,
      0,
      0,
      0,
      0x9d,
      0x01,
      0x2a,
      0x80,
      0x02,
      0xe0,
      0x01,
    ];
    return publisher.protectRtp(Buffer.concat([header, Buffer.from(vp8), Buffer.alloc(100, sequence)]));
  };
  const sockets: Socket[] = [];
  let routedMux: UdpMux;
  before(async () => {
    routedMux = await UdpMux.bind({ host: '127.0.0.1', batchedReads: true });
    for (let i = 0; i < 4; i++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      sockets.push(socket);
    }
  });
  after(() => {
    routedMux.close();
    for (const socket of sockets) socket.close();
  });

  /** An ingress of stream 0x100, forwarding to a subscriber socket of its own (all by the mux's socket). */
  function ingressTo(subscriber: Socket): { ingress: NativeIngress; forwarded: string[] } {
    const ingress = new NativeIngress(new SrtpContext(keys(1), 'native'), null);
    ingress.setStream(0x100, 0, 0, 0, 'vp8', null, 1024);
    const group = new FanOutGroup(routedMux.fd as number);
    const slot = group.addSlot({
      cipher: new SrtpContext(keys(5), 'native').cipher,
      ssrc: 0xabc,
      clockRate: 90000,
      payloadType: 100,
      pictureIds: true,
      layered: true,
      rtx: null,
      keptExtensionIds: new Set(),
    });
    slot.setDestination('127.0.0.1', subscriber.address().port);
    slot.decide(true, 0, 2);
    ingress.setFanOut(0, group);
    const forwarded: string[] = [];
    subscriber.on('message', (datagram) => forwarded.push(datagram.toString('hex')));
    return { ingress, forwarded };
  }

  /** The records a sink was told of, without the clock readings (12–14). */
  const recordsOf = (records: Float64Array, count: number): number[][] =>
    Array.from({ length: count }, (_, i) =>
      [...records.subarray(i * ingressRecordLength, (i + 1) * ingressRecordLength)].map((value, at) =>
        at >= 12 && at <= 14 ? 0 : value,
      ),
    );

  it('gives the records and forwarded bytes of the JavaScript route; STUN, RTCP, DTLS and unknown SSRCs stay for JavaScript', async (t) => {
    const [publisherSocket, viaC, viaJs] = sockets as [Socket, Socket, Socket];
    const endpoint = routedMux.createEndpoint();
    // Closed also after a failed assertion: the next case's checks come from the same address.
    t.after(() => {
      endpoint.close();
    });
    const send = (packet: Buffer): void => {
      publisherSocket.send(packet, routedMux.port, '127.0.0.1');
    };
    const stunReplies: Buffer[] = [];
    publisherSocket.on('message', (message) => stunReplies.push(message));
    send(bindingRequest(endpoint, { nominate: true }));
    await waitUntil(() => endpoint.state === 'connected');

    const routed = ingressTo(viaC);
    const reference = ingressTo(viaJs);
    const records: number[][] = [];
    const toJs: Buffer[] = [];
    let batches = 0;
    endpoint.on('packet', (packet) => toJs.push(Buffer.from(packet)));
    endpoint.routeSrtp({
      ingress: routed.ingress.native,
      receive: (count) => {
        batches++;
        records.push(...recordsOf(routed.ingress.records, count));
      },
    });
    routed.ingress.acceptBatches(true);
    const before = routedMux.udpStats;

    const tampered = srtp(0x100, 4);
    tampered[40] = (tampered[40] as number) ^ 1;
    const rtcp = Buffer.from([0x81, 200, 0, 1, 0, 0, 0, 1]);
    const dtls = Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 1, 7]);
    const unknown = srtp(0x200, 1);
    // One burst (a batch, mostly): RTP, a check, RTCP, an SSRC the ingress does not know, DTLS, a
    // tampered packet and a replay.
    const inC = [srtp(0x100, 1), srtp(0x100, 2), srtp(0x100, 3), tampered, srtp(0x100, 2)];
    for (const packet of [inC[0], bindingRequest(endpoint), rtcp, inC[1], unknown, dtls, ...inC.slice(2)])
      send(packet as Buffer);
    await waitUntil(() => records.length === 5 && toJs.length === 3 && stunReplies.length === 2);
    assert.deepEqual(toJs, [rtcp, unknown, dtls], 'in the order they came');
    assert.ok(batches >= 1 && batches <= 5);

    // Once the ingress knows the SSRC, its packets go by C too.
    routed.ingress.setStream(0x200, 1, 0, 0, 'vp8', null, 1024);
    reference.ingress.setStream(0x200, 1, 0, 0, 'vp8', null, 1024);
    inC.push(srtp(0x200, 2));
    send(inC[5] as Buffer);
    await waitUntil(() => records.length === 6);
    assert.equal(toJs.length, 3);

    const expected = inC.map((packet) => {
      const length = reference.ingress.receive(packet, null, 0, 0, true);
      return [...reference.ingress.record].map((value, at) =>
        at === ingressRecord.length ? length : at >= 12 && at <= 14 ? 0 : value,
      );
    });
    assert.deepEqual(
      records.map((record) => record[ingressRecord.length]),
      [128, 128, 128, ingressDropped, ingressDropped, 128],
    );
    for (const [i, record] of records.entries())
      if ((record[ingressRecord.length] as number) > 0) assert.deepEqual(record, expected[i], `record ${i}`);
    await waitUntil(() => routed.forwarded.length === 4 && reference.forwarded.length === 4);
    assert.deepEqual(routed.forwarded, reference.forwarded, 'the same bytes forwarded');

    const stats = routedMux.udpStats;
    assert.equal(stats.datagrams - before.datagrams, 10, 'every datagram read is counted');
    assert.equal(stats.toIngress - before.toIngress, 6);
    assert.equal(stats.stun - before.stun, 1);
  });

  it('keeps at most 2,048 routes, each found again as others come and go', async () => {
    const [publisherSocket, , , readSocket] = sockets as [Socket, Socket, Socket, Socket];
    const consumed: number[] = [];
    const reader = readInBatches(
      readSocket,
      (batch, count) => {
        for (let i = 0; i < count; i++) consumed.push(batch.consumed[i] as number);
      },
      () => undefined,
    );
    assert.ok(reader);
    try {
      const { ingress } = ingressTo(sockets[2] as Socket);
      ingress.acceptBatches(true);
      const loopback = 0x7f000001;
      const port = publisherSocket.address().port;
      let sequence = 200;
      const routedNow = async (): Promise<number | undefined> => {
        const before = consumed.length;
        publisherSocket.send(srtp(0x100, sequence++), readSocket.address().port, '127.0.0.1');
        await waitUntil(() => consumed.length === before + 1);
        return consumed[before];
      };
      // Ports around the real one, so that probe chains cross it; then the real one, then more.
      for (let i = 1; i <= 1000; i++)
        assert.ok(reader.route(loopback, (port + i) & 0xffff, ingress.native, 1));
      assert.ok(reader.route(loopback, port, ingress.native, 1));
      for (let i = 1; i <= 1047; i++) assert.ok(reader.route(loopback + i, port, ingress.native, 1));
      assert.equal(reader.route(loopback + 2000, port, ingress.native, 1), false, 'full');
      assert.equal(await routedNow(), 1);
      for (let i = 1; i <= 1000; i++) reader.route(loopback, (port + i) & 0xffff, null, 0);
      for (let i = 1; i <= 1047; i += 2) reader.route(loopback + i, port, null, 0);
      assert.equal(await routedNow(), 1, 'found after the others left');
      reader.route(loopback, port, null, 0);
      assert.equal(await routedNow(), 0, 'and gone once removed');
    } finally {
      reader.close();
    }
  });

  it('a publisher checking from 4,500 ports keeps its selected path and newest addresses in C, forgets the rest there too, and takes no other publisher off C', async (t) => {
    const [hostileSocket, victimSocket] = sockets as [Socket, Socket];
    const hostile = routedMux.createEndpoint();
    const victim = routedMux.createEndpoint();
    const kept: Socket[] = [];
    t.after(() => {
      hostile.close();
      victim.close();
      for (const socket of kept) socket.close();
    });
    hostileSocket.send(bindingRequest(hostile, { nominate: true }), routedMux.port, '127.0.0.1');
    await waitUntil(() => hostile.state === 'connected');
    const { ingress } = ingressTo(sockets[2] as Socket);
    let hostileRecords = 0;
    hostile.routeSrtp({ ingress: ingress.native, receive: (count) => (hostileRecords += count) });
    ingress.acceptBatches(true);
    const before = routedMux.udpStats;

    // More ports than the reader's table has slots: each new one routed, and one forgotten (and
    // unrouted) once past the bound. The first and the last batch's sockets stay open to send RTP.
    const ports = 4500;
    const batch = 250;
    for (let first = 0; first < ports; first += batch) {
      const batchSockets = await loopbackSockets(0x7f020000 + first, batch);
      await checkFrom(batchSockets, hostile, routedMux.port);
      for (const [i, socket] of batchSockets.entries())
        if (first + i === 0 || first + batch >= ports) kept.push(socket);
        else socket.close();
    }
    assert.equal(routedMux.udpStats.evicted - before.evicted, ports - (maxAddressesPerEndpoint - 1));

    let sequence = 300;
    const sendFrom = (socket: Socket): void => {
      socket.send(srtp(0x100, sequence++), routedMux.port, '127.0.0.1');
    };
    sendFrom(hostileSocket);
    await waitUntil(() => hostileRecords === 1);
    sendFrom(kept.at(-1) as Socket);
    await waitUntil(() => hostileRecords === 2);
    // The first port is forgotten: its RTP reaches neither C nor the endpoint.
    sendFrom(kept[0] as Socket);
    await waitUntil(() => routedMux.udpStats.unrouted === before.unrouted + 1);

    victimSocket.send(bindingRequest(victim, { nominate: true }), routedMux.port, '127.0.0.1');
    await waitUntil(() => victim.state === 'connected');
    const victimIngress = ingressTo(sockets[1] as Socket).ingress;
    let victimRecords = 0;
    victim.routeSrtp({ ingress: victimIngress.native, receive: (count) => (victimRecords += count) });
    victimIngress.acceptBatches(true);
    sendFrom(victimSocket);
    await waitUntil(() => victimRecords === 1);
    assert.equal(routedMux.udpStats.toIngress - before.toIngress, 3);
    assert.equal(hostileRecords, 2);
  });

  it('with its table full, a newcomer’s RTP goes through JavaScript, the others’ through C, and the newcomer’s too once a check finds room', async (t) => {
    const [firstSocket, newcomerSocket] = sockets as [Socket, Socket];
    const { ingress } = ingressTo(sockets[2] as Socket);
    ingress.acceptBatches(true);
    let fillerRecords = 0;
    const sink = { ingress: ingress.native, receive: (count: number) => (fillerRecords += count) };
    const fillers = Array.from({ length: udpReaderMaxRoutes / maxAddressesPerEndpoint }, () =>
      routedMux.createEndpoint(),
    );
    const newcomer = routedMux.createEndpoint();
    t.after(() => {
      for (const endpoint of [...fillers, newcomer]) endpoint.close();
    });
    // Each filler checks from 8 addresses of its own, the first filler's first from a socket kept.
    for (const [n, filler] of fillers.entries()) {
      filler.routeSrtp(sink);
      const fillerSockets = await loopbackSockets(
        0x7f040000 + n * maxAddressesPerEndpoint,
        maxAddressesPerEndpoint,
      );
      if (n === 0) fillerSockets[0] = firstSocket;
      await checkFrom(fillerSockets, filler, routedMux.port);
      for (const socket of fillerSockets) if (socket !== firstSocket) socket.close();
    }
    const newcomerIngress = ingressTo(sockets[1] as Socket).ingress;
    newcomerIngress.acceptBatches(true);
    let newcomerRecords = 0;
    const toJs: number[] = [];
    newcomer.on('packet', (packet) => toJs.push(packet.readUInt16BE(2)));
    newcomer.routeSrtp({ ingress: newcomerIngress.native, receive: (count) => (newcomerRecords += count) });
    await checkFrom([newcomerSocket], newcomer, routedMux.port);

    let sequence = 400;
    const sendFrom = (socket: Socket): void => {
      socket.send(srtp(0x100, sequence++), routedMux.port, '127.0.0.1');
    };
    sendFrom(newcomerSocket);
    await waitUntil(() => toJs.length === 1);
    sendFrom(firstSocket);
    await waitUntil(() => fillerRecords === 1);
    // One filler leaves: the newcomer's next check routes it in C.
    fillers[1]?.close();
    await checkFrom([newcomerSocket], newcomer, routedMux.port);
    sendFrom(newcomerSocket);
    await waitUntil(() => newcomerRecords === 1);
    assert.deepEqual(toJs, [400]);
  });

  it('stops at once when consent lapses, the sink goes, the ingress declines or the endpoint closes', async (t) => {
    const [publisherSocket] = sockets as [Socket];
    const endpoint = routedMux.createEndpoint();
    t.after(() => {
      endpoint.close();
    });
    const send = (packet: Buffer): void => {
      publisherSocket.send(packet, routedMux.port, '127.0.0.1');
    };
    send(bindingRequest(endpoint, { nominate: true }));
    await waitUntil(() => endpoint.state === 'connected');
    const { ingress } = ingressTo(sockets[1] as Socket);
    let records = 0;
    const toJs: number[] = [];
    endpoint.on('packet', (packet) => toJs.push(packet.readUInt16BE(2)));
    const sink = { ingress: ingress.native, receive: (count: number) => (records += count) };
    endpoint.routeSrtp(sink);
    ingress.acceptBatches(true);
    let sequence = 100;
    const before = routedMux.udpStats;
    send(srtp(0x100, sequence++));
    await waitUntil(() => records === 1);

    endpoint.checkConsent(endpoint.lastConsent + 1);
    send(srtp(0x100, sequence++));
    await waitUntil(() => routedMux.udpStats.lapsed === before.lapsed + 1);
    send(bindingRequest(endpoint));
    await waitUntil(() => endpoint.state === 'connected');
    send(srtp(0x100, sequence++));
    await waitUntil(() => records === 2);

    endpoint.routeSrtp(null);
    send(srtp(0x100, sequence++));
    await waitUntil(() => toJs.length === 1);
    endpoint.routeSrtp(sink);
    ingress.acceptBatches(false);
    send(srtp(0x100, sequence++));
    await waitUntil(() => toJs.length === 2);
    ingress.acceptBatches(true);
    send(srtp(0x100, sequence++));
    await waitUntil(() => records === 3);

    endpoint.close();
    send(srtp(0x100, sequence));
    await waitUntil(() => routedMux.udpStats.unrouted === before.unrouted + 1);
    assert.deepEqual(toJs, [103, 104]);
    assert.equal(records, 3);
    assert.equal(routedMux.udpStats.toIngress - before.toIngress, 3);
  });
});
