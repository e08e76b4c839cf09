import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** A V8 CPU profile as `node --cpu-prof` writes it (the fields read here). */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: readonly number[];
  }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A function's share of a profile. */
export interface ProfileEntry {
  /** `name (file:line)`, the file relative to the repository or as V8 names it. */
  readonly location: string;
  /** Time spent in the function itself, ms. */
  readonly selfMs: number;
  /** Time spent in the function and what it called, ms. */
  readonly totalMs: number;
  /** `selfMs` (or `totalMs` for the inclusive list) as a share of the sampled time, percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  /** The profiled thread's wall time, ms. */
  readonly wallMs: number;
  /** Sampled time not spent idle (V8's `(idle)`), ms. */
  readonly busyMs: number;
  /** The functions that cost most by themselves. */
  readonly bySelf: readonly ProfileEntry[];
  /** The functions whose calls, everything they called included, cost most. */
  readonly byTotal: readonly ProfileEntry[];
}

/** Names V8 gives to time that is not JavaScript of the program. */
const idle = '(idle)';

/**
 * Reads a `.cpuprofile` and tells where the time went: by function, self and inclusive. A
 * function that appears at several places in the call tree is added up, recursion counted once.
 */
export function summarizeCpuProfile(path: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const keyOf = (id: number): string => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return '?';
    const file = frame.url.startsWith('file://') ? relative(root, new URL(frame.url).pathname) : frame.url;
    const name = frame.functionName || '(anonymous)';
    return file ? `${name} (${file}:${frame.lineNumber + 1})` : name;
  };

  const selfUs = new Map<string, number>();
  const totalUs = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((sample, i) => {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const self = keyOf(sample);
    if (self === idle) return;
    busyUs += delta;
    selfUs.set(self, (selfUs.get(self) ?? 0) + delta);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parentOf.get(id)) {
      const key = keyOf(id);
      if (seen.has(key)) continue;
      seen.add(key);
      totalUs.set(key, (totalUs.get(key) ?? 0) + delta);
    }
  });
  const entries = (sortBy: Map<string, number>): ProfileEntry[] =>
    [...sortBy.entries()]
      .filter(([key]) => key !== '(root)' && key !== '(program)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([location, us]) => ({
        location,
        selfMs: (selfUs.get(location) ?? 0) / 1000,
        totalMs: (totalUs.get(location) ?? 0) / 1000,
        percent: busyUs > 0 ? (100 * us) / busyUs : 0,
      }));
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    bySelf: entries(selfUs),
    byTotal: entries(totalUs),
  };
}
