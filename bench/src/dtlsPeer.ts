// The far side of the DTLS benchmark, in its own process: browsers (werift's DTLS client) that
// each make an ICE check and a DTLS handshake with the benchmark's transports.
// argv: routerPort curve (`x25519`, what browsers offer first, or `p256` offered alone). stdout: `DtlsPeerMessage` per line; stdin: `DtlsRouterMessage` per line.
import { createInterface } from 'node:readline';
import { NamedCurveAlgorithm, NamedCurveAlgorithmList } from 'werift';
import { DtlsCertificate } from '@parlor/server/media';
import { FakeBrowser } from '@parlor/server/testing';

export type DtlsPeerMessage = { readonly fingerprint: string } | { readonly connected: number };

/** One round: the ICE credentials of the endpoints to connect to, all at once. */
export interface DtlsRouterMessage {
  readonly endpoints: readonly { readonly usernameFragment: string; readonly password: string }[];
}

const routerPort = Number(process.argv[2]);
// werift's client offers the curves of this list, which the server picks from.
if (process.argv[3] === 'p256')
  NamedCurveAlgorithmList.splice(0, NamedCurveAlgorithmList.length, NamedCurveAlgorithm.secp256r1_23);
const certificate = await DtlsCertificate.generate();
const say = (message: DtlsPeerMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};
say({ fingerprint: certificate.fingerprint });
for await (const line of createInterface({ input: process.stdin })) {
  const { endpoints } = JSON.parse(line) as DtlsRouterMessage;
  const browsers = endpoints.map(() => new FakeBrowser(routerPort, certificate));
  await Promise.all(
    endpoints.map(({ usernameFragment, password }, i) =>
      (browsers[i] as FakeBrowser).connect(usernameFragment, password),
    ),
  );
  for (const browser of browsers) browser.close();
  say({ connected: browsers.length });
}
