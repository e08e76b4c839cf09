// The load process: synthetic participants for the router benchmark, run on a core of their own
// (in the benchmark's network namespace when there is one). It reads one command per line on
// stdin and answers each with one event per line on stdout (see loadProtocol.ts).
// argv: cacheFolder extraHostAddress ('-' for none)
import { createInterface } from 'node:readline';
import { loadBenchClip } from './benchClip.js';
import type { LoadCommand, LoadEvent } from './loadProtocol.js';
import { RoomLoad } from './RoomLoad.js';

const [cacheFolder = '', extraHost = '-'] = process.argv.slice(2);
const clip = await loadBenchClip({ cacheFolder });
const network = { extraHostAddress: extraHost === '-' ? null : extraHost };
let room: RoomLoad | null = null;

const send = (event: LoadEvent): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

async function handle(command: LoadCommand): Promise<LoadEvent> {
  switch (command.command) {
    case 'setup':
      room = await RoomLoad.setup(command.plan, clip, network);
      return { event: 'ready', join: room.join };
    case 'startWindow':
      if (!room) throw new Error('no room');
      room.startWindow();
      return { event: 'windowStarted' };
    case 'storm':
      if (!room) throw new Error('no room');
      return { event: 'stormed', join: await room.storm() };
    case 'endWindow':
      if (!room) throw new Error('no room');
      return { event: 'windowEnded', window: room.endWindow() };
    case 'teardown':
      await room?.teardown();
      room = null;
      return { event: 'tornDown' };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  try {
    send(await handle(JSON.parse(line) as LoadCommand));
  } catch (error) {
    send({
      event: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}
// stdin closed: the benchmark is done (or gone).
process.exit(0);
