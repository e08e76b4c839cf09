import type { NodeRecord } from './NodeRegistry.js';

/**
 * Forwarded packets per second a core carries comfortably: the native data plane spends about
 * 5 µs on one (bench/README), so half a core's worth.
 */
const packetsPerSecondPerCore = 100_000;

/**
 * A node's load for placement, 0 up: its CPU per core, its share of its stream limit (of 1000
 * streams when it has none) or its forwarded packets per second against its cores, whichever is
 * higher. The packets react within seconds, where the load average takes a minute.
 */
export function loadOf(node: NodeRecord): number {
  return Math.max(
    node.cpuLoad,
    node.streams / (node.maxStreams ?? 1000),
    (node.packetsPerSecond ?? 0) / (packetsPerSecondPerCore * Math.max(1, node.cores)),
  );
}

/**
 * Chooses the node for a new session: among the nodes that take new sessions in the first of
 * `regions` that has any (else among all of them), the less loaded of two picked at random
 * (the "power of two choices": near the least loaded without every node sending its sessions
 * to the same one between two registry writes). Null when no node takes new sessions.
 */
export function pickNode(
  nodes: readonly NodeRecord[],
  regions: readonly string[],
  random: () => number = Math.random,
): NodeRecord | null {
  const admitting = nodes.filter((node) => node.admitting && node.state === 'serving');
  const inRegion = regions
    .map((region) => admitting.filter((node) => node.region === region))
    .find((candidates) => candidates.length > 0);
  const candidates = inRegion ?? admitting;
  if (candidates.length === 0) return null;
  const first = candidates[Math.floor(random() * candidates.length)];
  const second = candidates[Math.floor(random() * candidates.length)];
  if (!first || !second) return null;
  return loadOf(second) < loadOf(first) ? second : first;
}
