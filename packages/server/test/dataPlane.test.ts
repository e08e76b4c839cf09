import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeAddon, nativeAddonOverride } from '../src/media/srtp/dataPlane.js';
import { spawnParlor } from '../src/testing.js';

const dataDirs: string[] = [];
after(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-data-plane-'));
  dataDirs.push(dir);
  return dir;
}

/** What `parlor start` logged (JSON lines on stderr) up to its banner and a moment after. */
async function startLog(env: Record<string, string>): Promise<string> {
  const running = await spawnParlor({ dataDir: newDataDir(), env: { PARLOR_LOG_LEVEL: 'info', ...env } });
  const { code } = await running.stop('SIGTERM');
  assert.equal(code, 0);
  return running.log();
}

/** A machine where the addon did not build: its file is not there. */
const missingAddon = { [nativeAddonOverride]: '/nonexistent/parlor_native.node' };

describe('the data plane at start', () => {
  it('is the TypeScript one, with a warning naming the reason, when the native addon is missing', async () => {
    const log = await startLog(missingAddon);
    const lines = log
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const warnings = lines.filter(
      (line) => line.msg === 'native data plane unavailable: SRTP runs in TypeScript',
    );
    assert.equal(warnings.length, 1, log);
    assert.match(String(warnings[0]?.reason), /nonexistent\/parlor_native\.node/);
    assert.equal(lines.find((line) => line.msg === 'parlor started')?.dataPlane, 'js', log);
  });

  it('refuses --data-plane native when the addon is missing, naming the reason', () => {
    const bin = fileURLToPath(new URL('../bin/parlor.js', import.meta.url));
    const result = spawnSync(
      process.execPath,
      [bin, 'start', '--data-plane', 'native', '--port', '0', '--data-dir', newDataDir()],
      { encoding: 'utf8', env: { PATH: process.env.PATH, PARLOR_TURN: 'off', ...missingAddon } },
    );
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /data-plane.*unavailable.*nonexistent\/parlor_native\.node/s);
  });

  it(
    'is the native one when the addon built',
    {
      skip:
        (!nativeAddon.available && nativeAddon.reason) ||
        (process.env.PARLOR_DATA_PLANE && 'this run names its data plane (PARLOR_DATA_PLANE)'),
    },
    async () => {
      const log = await startLog({});
      assert.doesNotMatch(log, /native data plane unavailable/);
      assert.match(log, /"dataPlane":"native"[^\n]*"msg":"parlor started"/);
    },
  );
});
