import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { describe, it } from 'node:test';
import { startTestServer } from '../testing.js';

describe('/metrics', () => {
  it('counts the ICE-TCP connections a media worker holds and those it closed before a check, with the limits the settings give, and the datagrams its UDP socket read and dropped', async () => {
    const parlor = await startTestServer({
      // Long enough that the two pending connections are still there when counted on a loaded
      // machine (with 600 ms they had timed out once before the count).
      env: { PARLOR_MEDIA_TCP_AUTH_TIMEOUT_MS: '3000', PARLOR_MEDIA_TCP_PENDING_PER_ADDRESS: '2' },
    });
    try {
      const port = parlor.server.mediaWorkers.load[0]?.port ?? 0;
      const sockets = Array.from({ length: 3 }, () =>
        createConnection(port, '127.0.0.1').on('error', () => undefined),
      );
      const closed = Promise.all(sockets.map((socket) => once(socket, 'close')));
      await Promise.all(sockets.map((socket) => once(socket, 'connect')));
      const metric = async (series: string): Promise<number> => {
        const text = await (await fetch(`${parlor.url}/metrics`)).text();
        return Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1]);
      };
      for (
        let i = 0;
        i < 100 && (await metric('parlor_media_tcp_closed_total{worker="0",reason="refused"}')) !== 1;
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await metric('parlor_media_tcp_connections{worker="0",state="pending"}'), 2);
      await closed;
      assert.equal(await metric('parlor_media_tcp_closed_total{worker="0",reason="timeout"}'), 2);
      assert.equal(await metric('parlor_media_tcp_connections{worker="0",state="pending"}'), 0);

      // Three datagrams from an address no check authenticated: read, and dropped as unrouted.
      const udp = createSocket('udp4');
      try {
        for (let i = 0; i < 3; i++)
          udp.send(Buffer.from([0x80, 0x60, 0, i, 0, 0, 0, 0, 0, 0, 0, 1]), port, '127.0.0.1');
        for (
          let i = 0;
          i < 100 && (await metric('parlor_media_udp_dropped_total{worker="0",reason="unrouted"}')) !== 3;
          i++
        )
          await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(await metric('parlor_media_udp_dropped_total{worker="0",reason="unrouted"}'), 3);
        assert.equal(await metric('parlor_media_udp_datagrams_total{worker="0"}'), 3);
        assert.equal(await metric('parlor_media_udp_stun_total{worker="0"}'), 0);
        assert.equal(await metric('parlor_media_udp_dropped_total{worker="0",reason="lapsed"}'), 0);
      } finally {
        udp.close();
      }
    } finally {
      await parlor.dispose();
    }
  });
});
