import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './baresip.js';

// sipp (Debian's sip-tester) as a scripted SIP endpoint on loopback: each scenario answers one
// INVITE as a failure case would, and sipp exits 0 only when every message came as scripted.

const sdp = `v=0
o=sipp 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=DIRECTION
`;

function sdpWith(direction: string): string {
  return sdp.replace('DIRECTION', direction);
}

/** A response to the last request, with our To tag. */
function response(status: string, body = ''): string {
  return `<send><![CDATA[
SIP/2.0 ${status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
${body ? 'Content-Type: application/sdp\n' : ''}Content-Length: [len]

${body}]]></send>`;
}

/** A request of the dialog from sipp's side (BYE, re-INVITE), CSeq `cseq`. */
function request(method: string, cseq: number, body = ''): string {
  return `<send retrans="500"><![CDATA[
${method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:parlor@[remote_ip]:[remote_port]>[peer_tag_param]
[last_Call-ID:]
CSeq: ${cseq} ${method}
Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
${body ? 'Content-Type: application/sdp\n' : ''}Content-Length: [len]

${body}]]></send>`;
}

function ackTo(): string {
  return `<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:parlor@[remote_ip]:[remote_port]>[peer_tag_param]
[last_Call-ID:]
CSeq: [cseq] ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;
}

const answer = `<recv request="INVITE" rrs="true"/>
${response('200 OK', sdpWith('sendrecv'))}
<recv request="ACK"/>`;

const byeFromParlor = `<recv request="BYE"/>
${response('200 OK')}`;

/** The scenarios, by name. */
export const scenarios = {
  busy: `<recv request="INVITE"/>${response('486 Busy Here')}<recv request="ACK"/>`,
  declined: `<recv request="INVITE"/>${response('603 Decline')}<recv request="ACK"/>`,
  noAnswer: `<recv request="INVITE"/>${response('180 Ringing')}
<recv request="CANCEL"/>${response('200 OK')}
<send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0

]]></send>
<recv request="ACK"/>`,
  digest: `<recv request="INVITE"/>
<send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="parlor-test", nonce="8b1a2d6f0c", algorithm=MD5
Content-Length: 0

]]></send>
<recv request="ACK"/>
<recv request="INVITE" rrs="true">
  <action><verifyauth assign_to="authValid" username="alice" password="wonderland"/></action>
</recv>
<nop test="authValid" next="accepted"/>
${response('403 Forbidden')}
<recv request="ACK" next="end"/>
<label id="accepted"/>
${response('200 OK', sdpWith('sendrecv'))}
<recv request="ACK"/>
${byeFromParlor}
<label id="end"/>`,
  hangsUp: `${answer}
<pause milliseconds="1500"/>
${request('BYE', 2)}
<recv response="200"/>`,
  hold: `${answer}
<pause milliseconds="1000"/>
${request('INVITE', 2, sdpWith('sendonly'))}
<recv response="200"/>
${ackTo().replace('[cseq]', '2')}
<pause milliseconds="1000"/>
${request('INVITE', 3, sdpWith('sendrecv'))}
<recv response="200"/>
${ackTo().replace('[cseq]', '3')}
<pause milliseconds="1000"/>
${request('BYE', 4)}
<recv response="200"/>`,
} as const;

export type ScenarioName = keyof typeof scenarios;

/** One sipp run of a scenario: it serves one call and exits. */
export class Sipp {
  readonly port: number;
  readonly #dir: string;
  readonly #process: ChildProcess;
  readonly exited: Promise<number>;
  #log = '';

  readonly #transport: 'udp' | 'tcp';

  private constructor(port: number, dir: string, child: ChildProcess, transport: 'udp' | 'tcp') {
    this.port = port;
    this.#transport = transport;
    this.#dir = dir;
    this.#process = child;
    const append = (chunk: Buffer): void => {
      this.#log = (this.#log + chunk.toString()).slice(-50_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        resolve(code ?? -1);
      });
    });
  }

  /** Starts sipp on UDP, or on TCP (`-t t1`, one connection). */
  static async start(name: ScenarioName, transport: 'udp' | 'tcp' = 'udp'): Promise<Sipp> {
    const port = await freeUdpPort();
    const mediaPort = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'parlor-sipp-'));
    const file = join(dir, `${name}.xml`);
    writeFileSync(
      file,
      `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">\n${scenarios[name]}\n</scenario>\n`,
    );
    const child = spawn(
      'sipp',
      [
        ...(transport === 'tcp' ? ['-t', 't1'] : []),
        '-sf',
        file,
        '-i',
        '127.0.0.1',
        '-p',
        String(port),
        '-mp',
        String(mediaPort),
        '-m',
        '1',
        '-nostdin',
        '-timeout',
        '30s',
        '-trace_err',
        '-error_file',
        join(dir, 'errors.log'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    const sipp = new Sipp(port, dir, child, transport);
    // Ready once it listens: its TCP socket shows in /proc; over UDP, lost INVITEs are resent.
    const listening = `:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;
    const deadline = Date.now() + 5000;
    while (transport === 'tcp' && !readFileSync('/proc/net/tcp', 'utf8').includes(listening)) {
      if (Date.now() > deadline) throw new Error(`sipp did not listen:\n${sipp.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return sipp;
  }

  get uri(): string {
    return `sip:sipp@127.0.0.1:${this.port}${this.#transport === 'tcp' ? ';transport=tcp' : ''}`;
  }

  get log(): string {
    return this.#log;
  }

  async close(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill('SIGKILL');
    await this.exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
