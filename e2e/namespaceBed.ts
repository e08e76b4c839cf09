import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { SessionOptions } from '@parlor/client';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import {
  launchChromium,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
  type BrowserPeer,
} from './helpers.js';
import { chromiumIn, createSide, namespaceSide, removeSide, type NamespaceSide } from './netns.js';

/**
 * A Parlor listening where a network namespace reaches it, the app origin beside it, one
 * Chromium inside the namespace (whose link a test impairs) and one outside: the audio fallback
 * scenarios' test bed. Needs root (see `namespacesUnavailable`).
 */
export class NamespaceBed {
  readonly parlor: TestServer;
  readonly side: NamespaceSide;
  /** The Chromium inside the namespace, and the one beside Parlor. */
  readonly inside: Browser;
  readonly outside: Browser;
  readonly #app: AppOrigin;
  readonly #folder: string;
  #dropping = false;

  private constructor(
    parlor: TestServer,
    app: AppOrigin,
    [inside, outside]: [Browser, Browser],
    side: NamespaceSide,
    folder: string,
  ) {
    this.parlor = parlor;
    this.#app = app;
    this.inside = inside;
    this.outside = outside;
    this.side = side;
    this.#folder = folder;
  }

  /**
   * Creates this process's namespace NAME on 10.SUBNET.1.0/24, first removing one a crash left;
   * Parlor starts with `env` besides.
   */
  static async start(name: string, subnet: number, env: Record<string, string> = {}): Promise<NamespaceBed> {
    const side = namespaceSide(name, subnet, 1);
    const folder = mkdtempSync(join(tmpdir(), 'parlor-netns-'));
    removeSide(side);
    createSide(side);
    try {
      // Parlor, its Media Router and the app listen, and announce themselves, where the
      // namespace reaches the host.
      const parlor = await startTestServer({
        env: { PARLOR_PUBLIC_IP: side.hostAddress, ...env },
        host: side.hostAddress,
      });
      const app = await startAppOrigin(parlor.url, side.hostAddress);
      // getUserMedia needs a secure context: the app's origin is not localhost here.
      const args = [`--unsafely-treat-insecure-origin-as-secure=${new URL(app.url).origin}`];
      const browsers = await Promise.all([
        launchChromium({ executablePath: chromiumIn(side.namespace, folder), args }),
        launchChromium({ args }),
      ]);
      return new NamespaceBed(parlor, app, browsers, side, folder);
    } catch (error) {
      removeSide(side);
      rmSync(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** The app's origin, where both browsers load their pages. */
  get appUrl(): string {
    return this.#app.url;
  }

  /** Opens the app in a new page of `browser` and connects it to the session (`OT.initSession`'s options). */
  async join(browser: Browser, sessionId: string, sessionOptions: SessionOptions = {}): Promise<BrowserPeer> {
    const peer = await openBrowserPeer(browser, this.#app.url, this.parlor.apiKey, sessionId, sessionOptions);
    const error = await peer.connect(this.parlor.token(sessionId));
    if (error) throw new Error(`connect failed: ${JSON.stringify(error)}`);
    return peer;
  }

  /**
   * Drops, on the host, what the namespace sends that matches any of `matches` (nftables
   * expressions such as `udp dport 5000`), until `close()`.
   */
  dropFromInside(matches: readonly string[]): void {
    const table = this.#dropTable;
    const rules = matches.map(
      (match) => `add rule inet ${table} in iifname "${this.side.hostVeth}" ${match} drop`,
    );
    execFileSync('nft', [
      [
        `add table inet ${table}`,
        `add chain inet ${table} in { type filter hook prerouting priority -150; }`,
        ...rules,
      ].join('; '),
    ]);
    this.#dropping = true;
  }

  get #dropTable(): string {
    return `parlor_drop_${this.side.hostVeth}`;
  }

  async close(): Promise<void> {
    if (this.#dropping)
      execFileSync('nft', ['delete', 'table', 'inet', this.#dropTable], { stdio: 'ignore' });
    try {
      await Promise.all([this.inside.close(), this.outside.close()]);
      await this.#app.close();
      await this.parlor.dispose();
    } finally {
      removeSide(this.side);
      rmSync(this.#folder, { recursive: true, force: true });
    }
  }
}
