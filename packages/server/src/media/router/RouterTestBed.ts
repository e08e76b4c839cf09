import { parse, write } from 'sdp-transform';
import { UdpMux } from '../ice/UdpMux.js';
import { headerExtensionUris } from '../rtpParameters.js';
import { defaultDataPlane, nativeAddon, type DataPlane } from '../srtp/dataPlane.js';
import { parseDescription } from '../sdp/sdp.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { FakeBrowser } from '../transport/FakeBrowser.js';
import { MediaRouter, type RouterStats } from './MediaRouter.js';
import type { RouterReadings } from './routerReadings.js';

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

/**
 * For the tests of `readRouter`: the readings its rows should hold, made from `MediaRouter.stats()`
 * of the same moment (each kind's first track; the widest active layer's size, the last of equals).
 */
export function readingsOfStats({ publications, subscriptions }: RouterStats): RouterReadings {
  const layerRids: string[] = [];
  const layerRows: number[] = [];
  const publicationRows = publications.flatMap((publication, index) => {
    const audio = publication.tracks.find((track) => track.kind === 'audio');
    const video = publication.tracks.find((track) => track.kind === 'video');
    for (const track of publication.tracks)
      for (const layer of track.layers)
        if (layer.rid !== null) {
          layerRids.push(layer.rid);
          layerRows.push(index, layer.active ? 1 : 0, layer.bitrate);
        }
    const videoLayers = video?.layers ?? [];
    const sum = (figure: (layer: (typeof videoLayers)[number]) => number): number =>
      videoLayers.reduce((total, layer) => total + figure(layer), 0);
    const active = videoLayers.filter((layer) => layer.active);
    const widest = active.reduce<(typeof active)[number] | null>(
      (wide, layer) => (layer.width >= (wide?.width ?? 0) ? layer : wide),
      null,
    );
    return [
      audio ? 1 : 0,
      video ? 1 : 0,
      audio?.packets ?? 0,
      video?.packets ?? 0,
      audio?.bytes ?? 0,
      video?.bytes ?? 0,
      sum((layer) => layer.uplinkLost),
      sum((layer) => layer.resendsRequested),
      sum((layer) => layer.repaired),
      sum((layer) => layer.keyframeRequests),
      widest?.width ?? 0,
      widest?.height ?? 0,
      widest?.frameRate ?? 0,
      active.length,
    ];
  });
  const videos = subscriptions.map((subscription) =>
    subscription.tracks.find((track) => track.kind === 'video'),
  );
  const subscriptionRows = subscriptions.flatMap((subscription, index) => {
    const audio = subscription.tracks.find((track) => track.kind === 'audio');
    const video = videos[index];
    return [
      audio ? 1 : 0,
      video ? 1 : 0,
      audio?.bytes ?? 0,
      video?.bytes ?? 0,
      audio?.packets ?? 0,
      video?.packets ?? 0,
      audio?.retransmissions ?? 0,
      video?.retransmissions ?? 0,
      audio?.packetsLost ?? 0,
      video?.packetsLost ?? 0,
      audio?.fractionLost ?? 0,
      video?.fractionLost ?? 0,
      audio?.jitterMs ?? NaN,
      video?.jitterMs ?? NaN,
      audio?.rttMs ?? NaN,
      video?.rttMs ?? NaN,
      audio?.layerSwitches ?? 0,
      video?.layerSwitches ?? 0,
      subscription.keyframeRequests,
      subscription.estimatedBitrate ?? NaN,
    ];
  });
  return {
    publicationIds: publications.map((publication) => publication.id),
    publications: Float64Array.from(publicationRows),
    layerRids,
    publishedLayers: Float64Array.from(layerRows),
    subscriptionIds: subscriptions.map((subscription) => subscription.id),
    subscriptions: Float64Array.from(subscriptionRows),
    layers: videos.map((video) => video?.layer ?? null),
    targetLayers: videos.map((video) => video?.targetLayer ?? null),
    videoFallbacks: videos.map((video) => video?.videoFallback ?? null),
  };
}
