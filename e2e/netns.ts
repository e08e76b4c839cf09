import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Linux network namespaces for tests: a browser in a namespace of its own reaches this host
// through a veth pair, whose host end can be shaped with tc. Needs root and iproute2.

/** One namespace: its name, its own address and the host's address on its veth pair. */
export interface NamespaceSide {
  readonly namespace: string;
  readonly hostVeth: string;
  readonly address: string;
  readonly hostAddress: string;
}

const tag = process.pid.toString(36);

/**
 * A side named for this test process, on a /24 of its own in `10.<subnet>.0.0/16`: each test file
 * takes a subnet no other uses, and its process's id picks the third octet, so that the same file
 * run by two processes at once (two checkouts) lands on different networks. `index` (1 or 2)
 * tells a process's sides apart.
 */
export function namespaceSide(name: string, subnet: number, index: 1 | 2): NamespaceSide {
  const octet = (process.pid % 127) * 2 + index;
  return {
    namespace: `parlor-${name}-${tag}`,
    hostVeth: `p${name}${tag}`.slice(0, 14),
    address: `10.${subnet}.${octet}.2`,
    hostAddress: `10.${subnet}.${octet}.1`,
  };
}

/** Refuses a side whose network another live link of the host already has: it would take the traffic. */
function refuseTakenNetwork(side: NamespaceSide): void {
  const network = side.hostAddress.replace(/\.1$/, '.0/24');
  const holders = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'to', network], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(/\s+/)[1]?.replace(/@.*$/, ''))
    .filter((link) => link && link !== side.hostVeth);
  if (holders.length > 0)
    throw new Error(`${network} is taken by ${holders.join(', ')}: another test's namespace`);
}

/**
 * Removes the sides of the same name that processes no longer running left (a run that crashed
 * before its cleanup): their host ends hold the same addresses, and would take the traffic.
 */
function removeStaleSides(side: NamespaceSide): void {
  const prefix = side.namespace.slice(0, -tag.length);
  const name = prefix.slice('parlor-'.length, -1);
  const stale = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((namespace) => namespace.startsWith(prefix) && namespace !== side.namespace)
    .filter((namespace) => !isRunning(Number.parseInt(namespace.slice(prefix.length), 36)));
  for (const namespace of stale) {
    const processTag = namespace.slice(prefix.length);
    removeSide({ ...side, namespace, hostVeth: `p${name}${processTag}`.slice(0, 14) });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const ip = (...args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

export const inNamespace = (namespace: string, command: string[]): void => {
  execFileSync('ip', ['netns', 'exec', namespace, ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** Why namespaces cannot be made here, or false when they can (root and a kernel that allows it). */
export function namespacesUnavailable(): string | false {
  const probe = `parlor-probe-${tag}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return false;
  } catch {
    return 'this machine does not allow creating network namespaces (needs root and ip)';
  }
}

/**
 * Creates the namespace and its veth pair, with a default route to the host, first removing
 * those of its name that crashed runs left.
 */
export function createSide(side: NamespaceSide): void {
  removeStaleSides(side);
  refuseTakenNetwork(side);
  const inner = `${side.hostVeth}i`;
  ip('netns', 'add', side.namespace);
  ip('link', 'add', side.hostVeth, 'type', 'veth', 'peer', 'name', inner);
  ip('link', 'set', inner, 'netns', side.namespace);
  ip('addr', 'add', `${side.hostAddress}/24`, 'dev', side.hostVeth);
  ip('link', 'set', side.hostVeth, 'up');
  inNamespace(side.namespace, ['ip', 'link', 'set', 'lo', 'up']);
  inNamespace(side.namespace, ['ip', 'addr', 'add', `${side.address}/24`, 'dev', inner]);
  inNamespace(side.namespace, ['ip', 'link', 'set', inner, 'up']);
  inNamespace(side.namespace, ['ip', 'route', 'add', 'default', 'via', side.hostAddress]);
}

/** Removes a side, also one a crashed run left behind; nothing happens when it does not exist. */
export function removeSide(side: NamespaceSide): void {
  removeUplinkLoss(side);
  try {
    ip('netns', 'del', side.namespace);
  } catch {
    // It was not created.
  }
  try {
    ip('link', 'del', side.hostVeth);
  } catch {
    // Deleted with its namespace.
  }
}

/** How a namespace's downlink is impaired beside its rate. */
export interface DownlinkLimit {
  /** UDP datagrams the namespace drops at random as they arrive, in percent. Default: none. */
  readonly lossPercent?: number;
  /**
   * The token bucket's depth, like '16kb' (the default): what passes at once, before the rate
   * holds, when the limit is set. A bottleneck link's own is about a packet or two.
   */
  readonly burst?: string;
}

/** The nftables table in a namespace that drops datagrams at random. */
const lossTable = 'parlorloss';

/**
 * Limits what the host sends into the namespace (the browser's downlink) with a token bucket,
 * `rate` like '300kbit', and drops some of what gets through when asked; null lifts both.
 */
export function limitDownlink(side: NamespaceSide, rate: string | null, limit: DownlinkLimit = {}): void {
  try {
    execFileSync('tc', ['qdisc', 'del', 'dev', side.hostVeth, 'root'], { stdio: 'ignore' });
  } catch {
    // No limit was set.
  }
  try {
    inNamespace(side.namespace, ['nft', 'delete', 'table', 'inet', lossTable]);
  } catch {
    // No loss was set.
  }
  if (rate === null) return;
  execFileSync(
    'tc',
    [
      'qdisc',
      'add',
      'dev',
      side.hostVeth,
      'root',
      'tbf',
      'rate',
      rate,
      'burst',
      limit.burst ?? '16kb',
      'latency',
      '150ms',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  // Random loss with nftables, where the kernel lacks netem: media only, signaling keeps its TCP.
  if (limit.lossPercent !== undefined) {
    inNamespace(side.namespace, [
      'nft',
      `add table inet ${lossTable}; add chain inet ${lossTable} in { type filter hook input priority 0; }; ` +
        `add rule inet ${lossTable} in meta l4proto udp numgen random mod 100 < ${limit.lossPercent} drop`,
    ]);
  }
}

/** An impairment of a namespace's uplink: a rate like '60kbit', and random loss from 0 to 1. */
export interface UplinkLimit {
  readonly rate: string;
  /** The share of its UDP datagrams the host drops as they arrive. Default: 0. */
  readonly loss?: number;
  /** The token bucket's depth, like '8kb' (the default): see `DownlinkLimit.burst`. */
  readonly burst?: string;
}

/**
 * Limits what the namespace sends to the host (the browser's uplink): a token bucket on the
 * namespace's end of the veth pair holds the rate, dropping what would wait more than 150 ms as
 * a congested link does, and an nftables rule on the host drops the given share of its UDP
 * datagrams at random as they arrive (this kernel may lack netem; a rule in the namespace would
 * fail the sender's own send, which Chromium then repeats). Null lifts both.
 */
export function limitUplink(side: NamespaceSide, limit: UplinkLimit | null): void {
  const inner = `${side.hostVeth}i`;
  try {
    inNamespace(side.namespace, ['tc', 'qdisc', 'del', 'dev', inner, 'root']);
  } catch {
    // No limit was set.
  }
  removeUplinkLoss(side);
  if (limit === null) return;
  inNamespace(side.namespace, [
    'tc',
    'qdisc',
    'add',
    'dev',
    inner,
    'root',
    'tbf',
    'rate',
    limit.rate,
    'burst',
    limit.burst ?? '8kb',
    'latency',
    '150ms',
  ]);
  const perMille = Math.round((limit.loss ?? 0) * 1000);
  if (perMille === 0) return;
  const table = uplinkLossTable(side);
  execFileSync(
    'nft',
    [
      `add table inet ${table}; add chain inet ${table} in { type filter hook prerouting priority -150; }; ` +
        `add rule inet ${table} in iifname "${side.hostVeth}" meta l4proto udp numgen random mod 1000 < ${perMille} drop`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** The host's nftables table that drops some of what a namespace sends. */
function uplinkLossTable(side: NamespaceSide): string {
  return `parlor_uplink_${side.hostVeth}`;
}

function removeUplinkLoss(side: NamespaceSide): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', uplinkLossTable(side)], { stdio: 'ignore' });
  } catch {
    // No loss was set.
  }
}

/** A script that runs Chromium inside a namespace: playwright talks to it over a pipe, which crosses namespaces. */
export function chromiumIn(namespace: string, folder: string): string {
  const script = join(folder, `chromium-${namespace}.sh`);
  writeFileSync(script, `#!/bin/sh\nexec ip netns exec ${namespace} /usr/bin/chromium "$@"\n`);
  chmodSync(script, 0o755);
  return script;
}
