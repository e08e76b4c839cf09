import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until `condition` holds, polling every 5 ms (bounded: 600 polls, 3 s or more), so that a
 * loaded machine only makes a test slower. The server's `waitFor` polls every 100 ms, too coarse
 * for the client's debounces of tens of ms.
 */
export async function until(condition: () => boolean): Promise<void> {
  for (let polls = 0; !condition(); polls++) {
    if (polls > 600) assert.fail('timed out');
    await sleep(5);
  }
}
