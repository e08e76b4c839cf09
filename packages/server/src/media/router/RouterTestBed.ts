import { parse, write } from 'sdp-transform';
import { UdpMux } from '../ice/UdpMux.js';
import { headerExtensionUris } from '../rtpParameters.js';
import { defaultDataPlane, nativeAddon, type DataPlane } from '../srtp/dataPlane.js';
import { parseDescription } from '../sdp/sdp.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { FakeBrowser } from '../transport/FakeBrowser.js';
import { MediaRouter } from './MediaRouter.js';

/** The data planes the router's tests run on: both, or the TypeScript one where the addon did not build. */
export const testedDataPlanes: readonly DataPlane[] = nativeAddon.available ? ['native', 'js'] : ['js'];

/**
 * For the router's tests: a MediaRouter on a loopback socket, and browser stand-ins that reach it
 * with the ICE credentials of its SDP, run DTLS and key SRTP.
 */
export class RouterTestBed {
  readonly mux: UdpMux;
  readonly router: MediaRouter;
  /** The certificate every stand-in presents; the SDP the tests write names its fingerprint. */
  readonly browserCertificate: DtlsCertificate;
  readonly #browsers: FakeBrowser[] = [];

  private constructor(mux: UdpMux, router: MediaRouter, browserCertificate: DtlsCertificate) {
    this.mux = mux;
    this.router = router;
    this.browserCertificate = browserCertificate;
  }

  /**
   * @param dataPlane the router's. Default: `defaultDataPlane`. On the native one the mux reads in
   *   batches, as a media worker's does by default, so that publishers' RTP takes the reader's route in C.
   */
  static async start(dataPlane?: DataPlane): Promise<RouterTestBed> {
    const batchedReads = nativeAddon.available && (dataPlane ?? defaultDataPlane) === 'native';
    const [mux, routerCertificate, browserCertificate] = await Promise.all([
      UdpMux.bind({ host: '127.0.0.1', batchedReads }),
      DtlsCertificate.generate(),
      DtlsCertificate.generate(),
    ]);
    const router = new MediaRouter({
      mux,
      certificate: routerCertificate,
      announcedAddress: '127.0.0.1',
      ...(dataPlane ? { dataPlane } : {}),
    });
    return new RouterTestBed(mux, router, browserCertificate);
  }

  /** A browser stand-in connected to the router's end of an SDP the router wrote. */
  async connect(routerSdp: string): Promise<FakeBrowser> {
    const browser = new FakeBrowser(this.mux.port, this.browserCertificate);
    this.#browsers.push(browser);
    const { iceUfrag, icePwd } = parseDescription(routerSdp);
    await browser.connect(iceUfrag, icePwd);
    return browser;
  }

  /**
   * A subscriber's answer to the router's offer, as a browser writes it; without RTX, or without
   * transport-wide numbering and feedback, if asked.
   */
  subscriberAnswer(offerSdp: string, { keepRtx = true, keepTransportWideCc = true } = {}): string {
    const answer = parse(offerSdp);
    delete answer.icelite;
    for (const media of answer.media) {
      if (!keepTransportWideCc) {
        media.ext = media.ext?.filter((ext) => ext.uri !== headerExtensionUris.transportWideCc);
        media.rtcpFb = media.rtcpFb?.filter((feedback) => feedback.type !== 'transport-cc');
      }
      const rtx = new Set(media.rtp.filter((entry) => entry.codec === 'rtx').map((entry) => entry.payload));
      if (!keepRtx) {
        media.rtp = media.rtp.filter((entry) => !rtx.has(entry.payload));
        media.fmtp = media.fmtp.filter((entry) => !rtx.has(entry.payload));
        media.payloads = media.rtp.map((entry) => entry.payload).join(' ');
      }
      media.iceUfrag = 'subu';
      media.icePwd = 'subscriber-password-01234';
      media.fingerprint = { type: 'sha-256', hash: this.browserCertificate.fingerprint };
      media.setup = 'active';
      media.direction = 'recvonly';
      delete media.ssrcs;
      delete media.ssrcGroups;
      delete media.candidates;
    }
    return write(answer);
  }

  close(): void {
    this.router.close();
    for (const browser of this.#browsers) browser.close();
    this.mux.close();
  }
}
