import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free UDP port on loopback (bound, read and released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

export interface BaresipOptions {
  /** The frequency of the sine it sends, Hz. */
  readonly sineHz: number;
  /** The audio codecs it offers and accepts, e.g. `PCMU/8000`; default all it has. */
  readonly codecs?: readonly string[];
  /** Whether it requires SDES-SRTP (`mediaenc=srtp-mand`). Default: false. */
  readonly srtp?: boolean;
  /**
   * A PEM file of its certificate and key: it then takes SIP over TLS on its port + 1 (and trusts
   * that certificate as a CA). Default: none.
   */
  readonly tlsCertificate?: string;
}

/**
 * Debian's baresip as a SIP endpoint on loopback: it answers every call at once, sends a sine
 * (`ausine`) and records what it hears (`sndfile`, one WAV per direction per call); its log
 * shows the DTMF digits it receives.
 */
export class Baresip {
  readonly port: number;
  /** Its ctrl_tcp port: commands as netstrings of JSON. */
  readonly #controlPort: number;
  readonly #dir: string;
  readonly #process: ChildProcess;
  #log = '';

  private constructor(port: number, controlPort: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.#controlPort = controlPort;
    this.#dir = dir;
    this.#process = child;
    const append = (chunk: Buffer): void => {
      this.#log = (this.#log + chunk.toString()).slice(-200_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
  }

  /**
   * Starts it on free ports. Free when picked is not free when it binds: another process may
   * have taken one meanwhile, or the control port may be the SIP port's TCP or TLS twin; baresip
   * says so in its log and runs on without it, so it is started again, 5 times at most.
   */
  static async start(options: BaresipOptions): Promise<Baresip> {
    for (let attempt = 1; ; attempt++) {
      const baresip = await Baresip.#startOnce(options);
      if (!baresip.log.includes('Address already in use')) return baresip;
      await baresip.close();
      if (attempt === 5) throw new Error(`baresip found its ports taken 5 times:\n${baresip.log}`);
    }
  }

  static async #startOnce(options: BaresipOptions): Promise<Baresip> {
    const port = await freeUdpPort();
    const controlPort = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'parlor-baresip-'));
    // Its account parameters: audio_codecs takes the rest of the line, so it comes last.
    const srtp = options.srtp ? ';mediaenc=srtp-mand' : '';
    const codecs = options.codecs ? `;audio_codecs=${options.codecs.join(',')}` : '';
    writeFileSync(
      join(dir, 'accounts'),
      `<sip:baresip@127.0.0.1:${port}>;regint=0;answermode=auto${srtp}${codecs}\n`,
    );
    writeFileSync(
      join(dir, 'config'),
      [
        `sip_listen 127.0.0.1:${port}`,
        ...(options.tlsCertificate
          ? [`sip_certificate ${options.tlsCertificate}`, `sip_cafile ${options.tlsCertificate}`]
          : []),
        'net_interface 127.0.0.1',
        'sip_trans_def udp',
        `audio_source ausine,${options.sineHz}`,
        'audio_player aubridge,none',
        'audio_alert aubridge,none',
        'ausrc_srate 48000',
        'ausrc_channels 2',
        'rtp_ports 20000-29999',
        `module_path /usr/lib/baresip/modules`,
        'module g711.so',
        'module g722.so',
        'module opus.so',
        'module ausine.so',
        'module aubridge.so',
        'module sndfile.so',
        'module srtp.so',
        'module_app account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${controlPort}`,
        `snd_path ${dir}`,
        'opus_stereo no',
        'opus_sprop_stereo no',
        '',
      ].join('\n'),
    );
    const child = spawn('baresip', ['-f', dir, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const baresip = new Baresip(port, controlPort, dir, child);
    const deadline = Date.now() + 10_000;
    while (!baresip.log.includes('baresip is ready')) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`baresip did not start:\n${baresip.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return baresip;
  }

  get uri(): string {
    return `sip:baresip@127.0.0.1:${this.port}`;
  }

  /** Its URI over TLS (with `tlsCertificate`). */
  get tlsUri(): string {
    return `sip:baresip@127.0.0.1:${this.port + 1};transport=tls`;
  }

  get log(): string {
    return this.#log;
  }

  /** Sends DTMF digits into its call (RFC 4733), one `sndcode` command each. */
  async sendDigits(digits: string): Promise<void> {
    await this.#control(async (send) => {
      for (const digit of digits) {
        send('sndcode', digit);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    });
  }

  /** Hangs up its call (a BYE to the Contact it was given). */
  async hangUp(): Promise<void> {
    await this.#control(async (send) => {
      send('hangup', '');
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
  }

  /** Runs commands on its ctrl_tcp connection. */
  async #control(run: (send: (command: string, params: string) => void) => Promise<void>): Promise<void> {
    const socket = connect(this.#controlPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      await run((command, params) => {
        const text = JSON.stringify({ command, params, token: 'parlor' });
        socket.write(`${Buffer.byteLength(text)}:${text},`);
      });
    } finally {
      socket.destroy();
    }
  }

  /** The WAV files it recorded of what it heard (decoded from the call). */
  heardFiles(): string[] {
    return readdirSync(this.#dir)
      .filter((name) => name.endsWith('.wav') && name.includes('dec'))
      .map((name) => join(this.#dir, name));
  }

  async close(): Promise<void> {
    if (this.#process.exitCode === null) {
      const exited = new Promise((resolve) => this.#process.once('exit', resolve));
      this.#process.kill('SIGTERM');
      const timer = setTimeout(() => this.#process.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
