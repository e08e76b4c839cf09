import { readFileSync } from 'node:fs';

/** What the kernel says of some UDP sockets, summed: datagrams it dropped, bytes waiting to be read. */
export interface UdpSocketCounters {
  readonly drops: number;
  readonly queuedBytes: number;
}

/**
 * The kernel's counters (`/proc/net/udp`) of the IPv4 UDP sockets bound to the given local ports;
 * zeros where the file is missing (not Linux).
 */
export function udpSocketCounters(ports: ReadonlySet<number>): UdpSocketCounters {
  let table: string;
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return { drops: 0, queuedBytes: 0 };
  }
  let drops = 0;
  let queuedBytes = 0;
  // sl local_address rem_address st tx_queue:rx_queue tr tm->when retrnsmt uid timeout inode ref pointer drops
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const port = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16);
    if (!ports.has(port)) continue;
    queuedBytes += Number.parseInt(fields[4]?.split(':')[1] ?? '0', 16);
    drops += Number(fields[12] ?? 0);
  }
  return { drops, queuedBytes };
}
