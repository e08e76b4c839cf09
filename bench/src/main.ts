import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nativeAddon } from '@parlor/server/media';
import { runClusterBench, type Latency, type Rate as ClusterRate } from './clusterBench.js';
import { runComposeBench } from './composeBench.js';
import { runDtlsBench } from './dtlsBench.js';
import { runFallbackBench, type Spread } from './fallbackBench.js';
import { runForwardBench } from './forwardBench.js';
import { runInspectorBench } from './inspectorBench.js';
import { runRecordBench } from './recordBench.js';
import {
  runRouterBench,
  scenarioNames,
  sfuNames,
  type RouterBenchOptions,
  type ScenarioName,
  type SfuName,
} from './router/routerBench.js';
import { routerTables } from './router/routerReport.js';
import { runRestBench, type HttpFigures } from './restBench.js';
import { runSignalingBench } from './signalingBench.js';
import { runSipBench } from './sipBench.js';
import { runSrtpBench } from './srtpBench.js';
import { runStoreBench } from './storeBench.js';
import { runSwitchBench, type SwitchFigures } from './switchBench.js';
import { runTokenBench, type RateFigures } from './tokenBench.js';

// `npm run bench [-- NAME… [--FLAG…]]`: runs the named benchmarks (all by default), prints a
// table per benchmark and writes every figure to bench/results/ as JSON.
// Flags of `router`: --quick, --profile[=[SCENARIO:]SIZE], --scenario=NAME[,NAME…], --sfu=NAME[,NAME…],
// --sizes=N[,N…], --rounds=N (every scenario N times, the SFUs' order reversed each round). Of
// `fallback`: --runs=N, --side=subscriber|publisher (both by default). Of `cluster`: --nodes=N
// (2–3), --samples=N, --failovers=N, --rate-seconds=N. Of `switch`: --runs=N (10 by default).

const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));

const benchmarks = {
  rest: async () => {
    const result = await runRestBench(8);
    printTable('Session creates through the REST API (keep-alive, 32 connections, server on one core)', [
      ['', 'req/s', 'req/s per core', 'server CPU', 'p50 ms', 'p99 ms', 'errors'],
      httpRow('POST /session/create', result.sessionCreate),
      httpRow('GET /health (peer: framework floor)', result.health),
    ]);
    console.log(
      `  create / health per core: ${ratio(result.sessionCreate.requestsPerCoreSecond, result.health.requestsPerCoreSecond)}` +
        `   (aim: >= 5,000 creates/s on one core)\n`,
    );
    return result;
  },
  store: async () => {
    const result = await runStoreBench(8);
    printTable('Session creates through the REST API per store engine (32 connections, server on one core)', [
      ['', 'req/s', 'req/s per core', 'server CPU', 'p50 ms', 'p99 ms', 'errors'],
      httpRow('SQLite (embedded, WAL)', result.sqlite),
      httpRow('PostgreSQL (local, pool of 10)', result.postgres),
    ]);
    console.log(
      `  PostgreSQL / SQLite: ${ratio(result.postgres.requestsPerSecond, result.sqlite.requestsPerSecond)}\n`,
    );
    return result;
  },
  cluster: async () => {
    const numberFlag = (name: string): number | undefined => {
      const value = flags.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
      return value === undefined ? undefined : Number(value);
    };
    const result = await runClusterBench({
      ...(numberFlag('nodes') === undefined ? {} : { nodes: numberFlag('nodes') }),
      ...(numberFlag('samples') === undefined ? {} : { samples: numberFlag('samples') }),
      ...(numberFlag('failovers') === undefined ? {} : { failovers: numberFlag('failovers') }),
      ...(numberFlag('rate-seconds') === undefined ? {} : { rateSeconds: numberFlag('rate-seconds') }),
    });
    const row = (name: string, f: Latency): string[] => [
      name,
      f.p50Ms.toFixed(1),
      f.p95Ms.toFixed(1),
      String(f.samples),
    ];
    printTable(`A cluster of ${result.nodes} nodes on loopback, one Redis, one PostgreSQL`, [
      ['', 'p50 ms', 'p95 ms', 'samples'],
      row('placement: first connection-info (node chosen, lease written)', result.placement),
      row('owner lookup: connection-info once placed (peer)', result.ownerLookup),
      row("first connect on the session's node (lease confirmed)", result.firstConnect),
      row('later connect, lease held (peer)', result.laterConnect),
      row('GET …/stream on the host (peer)', result.restDirect),
      row('GET …/stream on another node, forwarded', result.restForwarded),
      row('kill -9 of the owner → session handed to another node', result.leaseTakeover),
      row('kill -9 → node gone from the registry', result.recordExpiry),
      ...(result.callFailover
        ? [
            row(
              'call of 2 pages, kill -9 of its node → both sessionReconnected',
              result.callFailover.reconnected,
            ),
            row(
              'call of 2 pages, kill -9 of its node → both decoding video again',
              result.callFailover.decoding,
            ),
          ]
        : []),
    ]);
    const { connectionInfo: info, sessionCreates: creates } = result;
    const nodeIds = Object.keys(creates.perNode);
    const rateRow = (name: string, { perSecond, cpuMsPerRequest }: ClusterRate): string[] => [
      name,
      perSecond.toFixed(0),
      ...nodeIds.map((nodeId) => cpuMsPerRequest[nodeId]?.toFixed(2) ?? ''),
    ];
    printTable(
      'Requests per second (16 connections a node, keep-alive), and CPU ms per request of each node',
      [
        ['', 'req/s', ...nodeIds],
        rateRow('connection-info asked of the host', info.host),
        rateRow('connection-info asked of another node (it asks the host)', info.other),
        ...Object.entries(creates.perNode).map(([nodeId, rate]) =>
          rateRow(`POST /session/create on ${nodeId} alone (PostgreSQL)`, rate),
        ),
        rateRow('POST /session/create on every node at once, the sum', creates.allNodes),
        [
          'POST /session/create, node on its own on SQLite (peer)',
          creates.sqlite.perSecond.toFixed(0),
          `${creates.sqlite.cpuMsPerRequest.sqlite?.toFixed(2) ?? ''} (its own)`,
        ],
      ],
    );
    console.log(
      `  placement / owner lookup: ${ratio(result.placement.p50Ms, result.ownerLookup.p50Ms)} (p50)` +
        `   first / later connect: ${ratio(result.firstConnect.p50Ms, result.laterConnect.p50Ms)}` +
        `   forwarded / direct: ${ratio(result.restForwarded.p50Ms, result.restDirect.p50Ms)} (p50),` +
        ` ${ratio(result.restForwarded.p95Ms, result.restDirect.p95Ms)} (p95)\n`,
    );
    return result;
  },
  tokens: async () => {
    const result = await runTokenBench(2);
    printTable('Client-token verification (one core)', [
      ['', 'verified/s', 'bare check/s (peer)', 'ratio'],
      tokenRow('JWT (HS256)', result.jwt),
      tokenRow('T1 (HMAC-SHA1)', result.t1),
    ]);
    return result;
  },
  signaling: async () => {
    const result = await runSignalingBench();
    printTable(`Signaling, no media (${result.clients} clients in one session, server on one core)`, [
      ['', 'per second', 'peer', 'ratio'],
      [
        'connects (token, join, snapshot)',
        fmt(result.connectsPerSecond),
        `${fmt(result.socketOpensPerSecond)} bare socket opens`,
        ratio(result.connectsPerSecond, result.socketOpensPerSecond),
      ],
    ]);
    printTable('Signal to all, latency to each client', [
      ['', 'p50 ms', 'p99 ms'],
      ['signal fan-out', result.fanOut.p50Ms.toFixed(2), result.fanOut.p99Ms.toFixed(2)],
      [
        'ping round trip (peer)',
        result.pingRoundTrip.p50Ms.toFixed(2),
        result.pingRoundTrip.p99Ms.toFixed(2),
      ],
    ]);
    printTable(
      'A well-behaved client in a 500-member session, signalling itself every 20 ms for 10 s (server on one core, its own process)',
      [
        ['load', 'p50 ms', 'p99 ms', 'samples', 'server RSS MB before → peak', 'hostile clients'],
        ...result.hostile.map((each) => [
          each.scenario,
          each.signal.p50Ms.toFixed(2),
          each.signal.p99Ms.toFixed(2),
          String(each.samples),
          `${each.rssBeforeMb.toFixed(0)} → ${each.rssPeakMb.toFixed(0)}`,
          each.note,
        ]),
      ],
    );
    console.log('  aim: p99 <= 100 ms, server memory bounded\n');
    return result;
  },
  forward: async () => {
    // The router runs here, pinned to core 0; the publisher and subscribers run on core 1.
    if (existsSync('/usr/bin/taskset')) spawnSync('/usr/bin/taskset', ['-pc', '0', String(process.pid)]);
    // On a shared machine other jobs land on core 0 too and inflate the router's CPU time per
    // packet (caches): ask for a larger share of the core where allowed; the peer inherits it.
    try {
      setPriority(-10);
    } catch {
      // Not allowed (no CAP_SYS_NICE): measure at the normal priority.
    }
    // Both data planes in one run (the TypeScript one only for the router: the peer keeps the default).
    // --batched-reads: the native router also reads its socket with recvmmsg (off by default);
    // --peer-reads=dgram: the peer's subscribers read with node:dgram instead of the addon;
    // --subscribers=150,200: those steps only; --native-only: no TypeScript plane.
    const batchedReads = flags.includes('--batched-reads');
    const peerReads = flags.includes('--peer-reads=dgram') ? 'dgram' : undefined;
    const listed = flags.find((arg) => arg.startsWith('--subscribers='))?.slice('--subscribers='.length);
    const subscriberCounts = listed?.split(',').map(Number);
    const options = { subscriberCounts, peerReads } as const;
    const steps = [
      ...(nativeAddon.available
        ? await runForwardBench({ ...options, dataPlane: 'native', batchedReads })
        : []),
      ...(flags.includes('--native-only') ? [] : await runForwardBench({ ...options, dataPlane: 'js' })),
    ];
    printTable(
      `Forwarding path of a MediaRouter: 1 publisher (500 packets/s of 1200 B, DTLS-SRTP AES-GCM) to N subscribers, router on one core (${batchedReads ? 'batched' : 'dgram'} reads; peer: ${peerReads ?? 'batched'} reads; load ${loadavg()[0]?.toFixed(1)})`,
      [
        [
          'data plane',
          'subscribers',
          'forwarded/s',
          'µs/packet',
          'packets/s per core',
          'loss',
          'peer CPU',
          'peer µs/datagram',
          'setup s',
          'router running / waiting',
        ],
        ...steps.map((s) => [
          s.dataPlane,
          String(s.subscribers),
          fmt(s.forwardedPerSecond),
          s.microsPerPacket.toFixed(1),
          fmt(s.packetsPerCoreSecond),
          `${s.lossPercent.toFixed(2)} %`,
          `${s.peer.cpuPercent.toFixed(0)} %`,
          s.peer.cpuMicrosPerDatagram.toFixed(1),
          s.setupSeconds.toFixed(0),
          `${s.routerRunningPercent.toFixed(0)} / ${s.routerWaitingPercent.toFixed(0)} %`,
        ]),
      ],
    );
    printTable(
      "Where the window's packets went (router: read … sent; peer: socket drops … received; late: after 300 ms)",
      [
        [
          'plane',
          'N',
          'sent',
          'router drops',
          'read',
          'unrouted',
          'lapsed',
          'SRTP rejected',
          'accepted',
          'forwarded',
          'send failures',
          'due',
          'peer drops',
          'unread B',
          'received',
          'late',
          'drain ms',
          'backlog KB, router',
          'peer',
          'send lag ms',
        ],
        ...steps.map(({ dataPlane, subscribers, router, peer }) => [
          dataPlane,
          String(subscribers),
          String(peer.sent),
          String(router.socketDrops),
          String(router.read),
          String(router.unrouted),
          String(router.lapsed),
          String(router.srtpRejected),
          String(router.accepted),
          String(router.forwarded),
          String(router.sendFailures),
          String(peer.expected),
          String(peer.socketDrops + peer.truncated),
          String(peer.queuedBytes),
          String(peer.received),
          String(peer.late),
          peer.drainMs.toFixed(0),
          (peer.routerBacklogBytes / 1024).toFixed(0),
          (peer.peerBacklogBytes / 1024).toFixed(0),
          peer.sendLagMs.toFixed(0),
        ]),
      ],
    );
    for (const dataPlane of new Set(steps.map((s) => s.dataPlane))) {
      const ofPlane = steps.filter((s) => s.dataPlane === dataPlane && s.lossPercent < 0.5);
      const best = Math.max(...ofPlane.map((s) => s.packetsPerCoreSecond), 0);
      const bestMicros = best > 0 ? (1e6 / best).toFixed(1) : 'n/a';
      console.log(
        `  ${dataPlane}: best at < 0.5 % loss: ${fmt(best)} packets/s per core, ${bestMicros} µs/packet` +
          `   (aim: <= 10 µs; tuned Janus: 19.5 µs)`,
      );
    }
    console.log('');
    return steps;
  },
  record: async () => {
    const result = await runRecordBench();
    printTable(
      `Recording one stream (VP8 640x480 + Opus, ${result.streamMbps.toFixed(2)} Mbit/s, ${fmt(result.packetsPerSecond)} packets/s) to WebM`,
      [
        ['', 'µs/packet', '% of a core per 1 Mbit/s stream'],
        [
          'record (reorder, depacketize, mux, write)',
          result.microsPerPacket.toFixed(2),
          result.corePercentPerMbps.toFixed(2),
        ],
        [
          'forward to one subscriber (peer: copy, rewrite, SRTP)',
          result.forwardMicrosPerPacket.toFixed(2),
          ((result.forwardMicrosPerPacket * result.packetsPerSecond) / 1e4 / result.streamMbps).toFixed(2),
        ],
      ],
    );
    console.log(
      `  record / forward per packet: ${ratio(result.microsPerPacket, result.forwardMicrosPerPacket)}\n`,
    );
    return result;
  },
  compose: async () => {
    const result = await runComposeBench();
    printTable(
      `Archive composition: ${result.streams} streams of 640x480 VP8/Opus, ${result.archiveSeconds} s, into a 640x480 H.264/AAC MP4 (bestFit)`,
      [
        ['', 'seconds', 'x real time'],
        [
          'compose (ffmpeg, wall clock)',
          result.composeSeconds.toFixed(2),
          result.realTimeMultiple.toFixed(1),
        ],
        [
          'compose (ffmpeg, per CPU second)',
          result.cpuSeconds.toFixed(2),
          result.realTimeMultiplePerCore.toFixed(1),
        ],
        [
          'decode only (peer)',
          (result.archiveSeconds / result.decodeOnlyMultiple).toFixed(2),
          result.decodeOnlyMultiple.toFixed(1),
        ],
      ],
    );
    console.log(
      `  aim: >= 5x real time; ratio ${ratio(result.realTimeMultiple, 5)} (wall clock, load average ${loadavg()[0]?.toFixed(1) ?? '?'})\n`,
    );
    return result;
  },
  router: async () => {
    const result = await runRouterBench(routerOptions(flags));
    const { clip } = result;
    const layers = clip.layers
      .map(
        (layer) =>
          `${layer.rid} ${layer.width}x${layer.height} ${layer.megabitsPerSecond.toFixed(2)} Mbit/s ` +
          `${fmt(layer.packetsPerSecond)} packets/s`,
      )
      .join(', ');
    console.log(
      `\nRouter benchmark: each camera sends VP8 in three simulcast layers (${layers}) + Opus, ` +
        `${clip.sent.megabitsPerSecond.toFixed(2)} Mbit/s and ${fmt(clip.sent.packetsPerSecond)} packets/s in all; ` +
        `a viewer gets the top layer + Opus, ${clip.viewed.megabitsPerSecond.toFixed(2)} Mbit/s and ` +
        `${fmt(clip.viewed.packetsPerSecond)} packets/s; SFU on core 0, load on core 1; ${result.windowSeconds} s windows`,
    );
    for (const table of routerTables(result)) {
      printTable(
        table.title,
        table.rows.map((row) => [...row]),
      );
      for (const note of table.notes) console.log(`  ${note}`);
    }
    if (result.profile) {
      const { profile } = result;
      console.log(
        `\nParlor profiled (--cpu-prof), ${profile.scenario} of ${profile.size}: ` +
          `${profile.step.microsPerPacket.toFixed(1)} µs/packet, server CPU ${profile.step.serverCpuPercent.toFixed(0)} %`,
      );
      for (const thread of profile.threads) {
        printTable(
          `Thread busy ${thread.busyMs.toFixed(0)} ms of ${thread.wallMs.toFixed(0)} ms: most self time`,
          [['self %', 'self ms', 'total ms', 'function'], ...thread.bySelf.map(profileRow)],
        );
        printTable('Most inclusive time', [
          ['total %', 'self ms', 'total ms', 'function'],
          ...thread.byTotal.map(profileRow),
        ]);
      }
    }
    return result;
  },
  sip: async () => {
    const steps = flags.includes('--quick') ? [1, 10] : [1, 10, 50];
    const result = await runSipBench(steps);
    printTable(
      `SIP calls (sipp echoing PCMU, two calls per session; server on core 0, one media worker; ${result.windowSeconds} s windows; idle ${result.idleCpuPercent.toFixed(1)} %), beside plain forwarding of the same audio (WebRTC participants, two per session)`,
      [
        [
          'calls',
          'refused',
          'answered',
          'server CPU %',
          'CPU % per call',
          'REST p50/p99 ms',
          'latency p50 ms',
          'max ms',
          'forwarding CPU %',
          'per participant',
          'forwarding p50 ms',
          'max ms',
        ],
        ...result.steps.map((step) => [
          String(step.calls),
          String(step.refused),
          String(step.answered),
          step.serverCpuPercent.toFixed(0),
          step.cpuPercentPerCall.toFixed(2),
          `${step.restP50Ms.toFixed(1)}/${step.restP99Ms.toFixed(1)}`,
          step.latencyP50Ms.toFixed(0),
          step.latencyMaxMs.toFixed(0),
          step.forwarding.serverCpuPercent.toFixed(0),
          step.forwarding.cpuPercentPerParticipant.toFixed(2),
          step.forwarding.latencyP50Ms.toFixed(0),
          step.forwarding.latencyMaxMs.toFixed(0),
        ]),
      ],
    );
    return result;
  },
  fallback: async () => {
    const runs = Number(flags.find((arg) => arg.startsWith('--runs='))?.slice('--runs='.length) ?? 5);
    const side = flags.find((arg) => arg.startsWith('--side='))?.slice('--side='.length);
    if (side !== undefined && side !== 'subscriber' && side !== 'publisher')
      throw new RangeError(`--side must be subscriber or publisher, not ${side}`);
    const result = await runFallbackBench(runs, side ? [side] : undefined);
    if ('skipped' in result) {
      console.log(`\nAudio fallback benchmark skipped: ${result.skipped}`);
      return result;
    }
    const { reaction, recovery } = result;
    if (reaction && recovery) {
      printTable(
        `Subscriber audio fallback, ${result.runs} runs: a Chromium subscriber's downlink cut to 60 kbit/s with 10 % loss for 10 s after videoDisabled, then repaired`,
        [
          ['', 'median ms', 'min ms', 'max ms', 'aim ms'],
          spreadRow('impairment → videoDisabled, at the router', reaction.router, 2000),
          spreadRow('  … at the subscriber (signaling over the bad link)', reaction.subscriber, 2000),
          spreadRow('repair → videoEnabled, at the router', recovery.router, 10_000),
          spreadRow('  … at the subscriber', recovery.subscriber, 10_000),
        ],
      );
      console.log(
        `  no flapping (warning, disabled, enabled only) in ${result.steadyRuns} of ${result.runs} runs; ` +
          `the unimpaired subscriber decoded every second in ${result.unaffectedRuns} of ${result.runs}\n`,
      );
    }
    if (result.publisher) {
      const { routed, relayed } = result.publisher;
      printTable(
        `Publisher audio fallback, ${routed.runs} runs each: a Chromium publisher's uplink narrowed to 64 kbit/s (2 KB bucket, 3 % loss) for 10–15 s after videoDisabled, then widened`,
        [
          ['', 'median ms', 'min ms', 'max ms', 'aim ms'],
          ...(['routed', 'relayed'] as const).flatMap((mode) => {
            const figures = result.publisher?.[mode] ?? routed;
            return [
              spreadRow(
                `${mode}: narrowing → videoDisabled, at the publisher`,
                figures.reaction.publisher,
                2000,
              ),
              spreadRow('  … hasVideo false at the subscriber', figures.reaction.subscriber, 2000),
              spreadRow(
                `${mode}: widening → videoEnabled, at the publisher`,
                figures.recovery.publisher,
                10_000,
              ),
              spreadRow('  … hasVideo true at the subscriber', figures.recovery.subscriber, 10_000),
            ];
          }),
        ],
      );
      console.log(
        `  no flapping (warning, disabled, enabled only) in ${routed.steadyRuns} of ${routed.runs} routed runs and ` +
          `${relayed.steadyRuns} of ${relayed.runs} relayed; probes started on the narrow link ` +
          `${routed.probes.started + relayed.probes.started}, failed before it widened ${routed.probes.failed + relayed.probes.failed}\n`,
      );
    }
    return result;
  },
  dtls: async () => {
    const result = [await runDtlsBench(), await runDtlsBench({ curve: 'p256' })];
    printTable(
      `Server-side DTLS handshakes (${result[0]?.handshakes ?? 0} each, 20 at once; CPU of the thread running them, on core 0)`,
      [
        [
          'ICE check + DTLS-SRTP handshake',
          'thread CPU ms per handshake',
          'lowest – highest round',
          'round of 20 ms',
        ],
        ...result.map((each) => [
          each.curve === 'p256' ? 'client offering P-256 alone' : 'client offering X25519 first (browsers)',
          each.threadCpuMs.toFixed(2),
          each.threadCpuMsRange.map((ms) => ms.toFixed(2)).join(' – '),
          each.roundMs.toFixed(0),
        ]),
      ],
    );
    return result;
  },
  srtp: () => {
    const result = runSrtpBench();
    const micros = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(2));
    printTable('SRTP per 1200-byte RTP packet (one core)', [
      [
        '',
        'JS protect µs',
        'JS unprotect µs',
        'native protect µs',
        'native unprotect µs',
        'bare node:crypto µs',
        'native / JS',
      ],
      ...Object.entries(result).map(([profile, f]) => [
        profile,
        micros(f.js.protectMicros),
        micros(f.js.unprotectMicros),
        micros(f.native?.protectMicros),
        micros(f.native?.unprotectMicros),
        micros(f.bareCipherMicros),
        f.native ? ratio(f.native.protectMicros, f.js.protectMicros) : '-',
      ]),
    ]);
    return Promise.resolve(result);
  },
  inspector: async () => {
    const result = await runInspectorBench();
    const { ingest, query } = result;
    printTable(
      `Inspector ingest: ${ingest.connections} connections in ${ingest.sessions} sessions, each sending a routed call's SDK telemetry for ${Math.round(ingest.seconds)} s (server on one core)`,
      [
        [
          'per connection per minute',
          'server CPU ms',
          'silent CPU ms',
          'wire bytes',
          'stored bytes',
          'stored records',
          'dropped',
        ],
        [
          '',
          ingest.cpuMsPerConnectionMinute.toFixed(2),
          ingest.idleCpuMsPerConnectionMinute.toFixed(2),
          ingest.wireBytesPerConnectionMinute.toFixed(0),
          ingest.storedBytesPerConnectionMinute.toFixed(0),
          ingest.storedRecordsPerConnectionMinute.toFixed(1),
          String(ingest.dropped),
        ],
      ],
    );
    printTable(
      `Inspector query: a ${query.hours}-hour meeting of ${query.streams} streams, ${query.records} records (the session bound is 50,000), ${query.runs} runs`,
      [
        ['', 'p50 ms', 'max ms', 'answer bytes'],
        [
          'GET …/session/:id/inspector (JSON timeline)',
          query.jsonMs.p50.toFixed(0),
          query.jsonMs.max.toFixed(0),
          String(query.jsonBytes),
        ],
        [
          'POST /graphql (every stream stats)',
          query.graphqlMs.p50.toFixed(0),
          query.graphqlMs.max.toFixed(0),
          '-',
        ],
        [
          `GET …/session/:id/inspector?samples=${query.overviewSamples} (the page's)`,
          query.overviewJsonMs.p50.toFixed(0),
          query.overviewJsonMs.max.toFixed(0),
          String(query.overviewJsonBytes),
        ],
        [
          `POST /graphql, samples: ${query.overviewSamples}`,
          query.overviewGraphqlMs.p50.toFixed(0),
          query.overviewGraphqlMs.max.toFixed(0),
          '-',
        ],
      ],
    );
    return result;
  },
  switch: async () => {
    const runs = Number(flags.find((arg) => arg.startsWith('--runs='))?.slice('--runs='.length) ?? 10);
    const result = await runSwitchBench(runs);
    if ('skipped' in result) return result;
    const row = (name: string, f: SwitchFigures): string[] => [
      name,
      `${f.video.p50Ms} / ${f.video.p95Ms}`,
      `${f.audio.p50Ms} / ${f.audio.p95Ms}`,
      f.switch ? `${f.switch.p50Ms} / ${f.switch.p95Ms}` : '-',
      `${f.sampling.p50Ms} / ${f.sampling.p95Ms}`,
      String(f.blackFrames),
    ];
    printTable(
      `Adaptive routing, ${result.toRouted.runs} moves each way: the longest video freeze and audio gap two Chromium pages see (getStats every 50 ms)`,
      [
        [
          '',
          'video p50 / p95 ms',
          'audio p50 / p95 ms',
          'move p50 / p95 ms',
          'sampling p50 / p95 ms',
          'black pictures',
        ],
        row('peer to peer → router (a third joins)', result.toRouted),
        row('router → peer to peer (it leaves, after the hold)', result.toDirect),
        row('relayed session, nothing moves (floor)', result.floor),
      ],
    );
    console.log(
      '  aim: video <= 300 ms, audio <= 200 ms; sampling: the longest the pages waited between samples\n',
    );
    return result;
  },
};
type BenchmarkName = keyof typeof benchmarks;

function httpRow(name: string, f: HttpFigures): string[] {
  return [
    name,
    fmt(f.requestsPerSecond),
    fmt(f.requestsPerCoreSecond),
    `${f.serverCpuPercent.toFixed(0)} %`,
    String(f.latencyP50Ms),
    String(f.latencyP99Ms),
    String(f.errors),
  ];
}

function spreadRow(name: string, spread: Spread, aimMs: number): string[] {
  return [name, fmt(spread.medianMs), fmt(spread.minMs), fmt(spread.maxMs), `≤ ${fmt(aimMs)}`];
}

function tokenRow(name: string, f: RateFigures): string[] {
  return [name, fmt(f.perSecond), fmt(f.barePerSecond), ratio(f.perSecond, f.barePerSecond)];
}

/** The router benchmark's options from the command line's flags. */
function routerOptions(args: readonly string[]): RouterBenchOptions {
  const quick = args.includes('--quick');
  const profile = args.find((arg) => arg === '--profile' || arg.startsWith('--profile='));
  const scenarios = args
    .find((arg) => arg.startsWith('--scenario='))
    ?.slice('--scenario='.length)
    .split(',');
  const unknown = scenarios?.filter((name) => !(scenarioNames as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0) {
    console.error(`Unknown scenario: ${unknown.join(', ')}. Known: ${scenarioNames.join(', ')}`);
    process.exit(2);
  }
  const list = (name: string): string[] | undefined =>
    args
      .find((arg) => arg.startsWith(`--${name}=`))
      ?.slice(name.length + 3)
      .split(',');
  const sfus = list('sfu');
  const badSfus = sfus?.filter((name) => !(sfuNames as readonly string[]).includes(name)) ?? [];
  if (badSfus.length > 0) {
    console.error(`Unknown SFU: ${badSfus.join(', ')}. Known: ${sfuNames.join(', ')}`);
    process.exit(2);
  }
  const sizes = list('sizes')?.map(Number);
  const rounds = list('rounds')?.map(Number)[0];
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) {
    console.error('--rounds takes a whole number from 1 to 20');
    process.exit(2);
  }
  return {
    quick,
    ...(scenarios ? { scenarios: scenarios as ScenarioName[] } : {}),
    ...(sfus ? { sfus: sfus as SfuName[] } : {}),
    ...(sizes ? { sizes } : {}),
    ...(rounds ? { rounds } : {}),
    ...(profile ? { profile: profileOption(profile.split('=')[1], quick) } : {}),
  };
}

/** `--profile=[SCENARIO:]SIZE`: the livestream by default, 150 viewers (40 with `--quick`). */
function profileOption(value: string | undefined, quick: boolean): { scenario: ScenarioName; size: number } {
  const [first, second] = (value ?? '').split(':');
  const scenario = second === undefined ? 'livestream' : first;
  const size = Number((second ?? first) || (quick ? 40 : 150));
  if (!(scenarioNames as readonly string[]).includes(scenario ?? '') || !(size > 0)) {
    console.error(
      `--profile takes [SCENARIO:]SIZE, as meeting:12; known scenarios: ${scenarioNames.join(', ')}`,
    );
    process.exit(2);
  }
  return { scenario: scenario as ScenarioName, size };
}

function profileRow(entry: { percent: number; selfMs: number; totalMs: number; location: string }): string[] {
  return [entry.percent.toFixed(1), entry.selfMs.toFixed(0), entry.totalMs.toFixed(0), entry.location];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

function printTable(title: string, rows: string[][]): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  console.log(`\n${title}`);
  for (const row of rows) {
    console.log(
      '  ' +
        row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
          .join('  '),
    );
  }
}

const unknown = requested.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(`Unknown benchmark: ${unknown.join(', ')}. Known: ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}
const names = (requested.length > 0 ? requested : Object.keys(benchmarks)) as BenchmarkName[];
const results: Record<string, unknown> = {};
for (const name of names) results[name] = await benchmarks[name]();

const folder = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(folder, { recursive: true });
const prefix = requested.length > 0 ? `${names.join('-')}-` : '';
const file = `${folder}${prefix}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(
  file,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2),
);
console.log(`\nResults written to ${file}`);
