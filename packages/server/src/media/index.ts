export { SrtpContext } from './srtp/SrtpContext.js';
export {
  dataPlanes,
  defaultDataPlane,
  nativeAddon,
  udpReaderSlotSize,
  type DataPlane,
  type NativeUdpReader,
} from './srtp/dataPlane.js';
export {
  deriveSrtpSessionKeys,
  type SrtpKeyingMaterial,
  type SrtpSessionKeys,
  type SrtpFlowKeys,
} from './srtp/keyDerivation.js';
export {
  srtpProfiles,
  preferredSrtpProfiles,
  srtpProfileById,
  type SrtpProfileName,
} from './srtp/profiles.js';
export { RtpRewriter } from './rtp/RtpRewriter.js';
export { RetransmissionBuffer } from './rtp/RetransmissionBuffer.js';
export {
  UdpMux,
  defaultTcpLimits,
  type IceTcpLimits,
  type IceTcpStats,
  type UdpMuxOptions,
  type UdpMuxStats,
} from './ice/UdpMux.js';
export { readInBatches } from './ice/batchedReads.js';
export { IceLiteEndpoint } from './ice/IceLiteEndpoint.js';
export { DtlsCertificate } from './transport/DtlsCertificate.js';
export { DtlsSrtpTransport, type DtlsSrtpState } from './transport/DtlsSrtpTransport.js';
export {
  parseDescription,
  acceptPublisherMedia,
  answerPublisher,
  offerSubscriber,
  type RemoteDescription,
  type LocalTransport,
  type OutgoingTrack,
} from './sdp/sdp.js';
export type { MediaSection, RtpCodec, HeaderExtension, MediaKind } from './rtpParameters.js';
export { parseRtcp, serializeRtcp, type RtcpPacket } from './rtcp/rtcp.js';
export { readPayloadType, readSsrc, readSequenceNumber } from './rtp/rtpHeader.js';
export {
  MediaRouter,
  type MediaRouterOptions,
  type SubscribeOptions,
  type RouterStats,
  type PublicationStats,
  type SubscriptionStats,
  type TrackStats,
  type ForwardedTrackStats,
} from './router/MediaRouter.js';
export {
  MediaWorkerPool,
  type MediaWorkerPoolOptions,
  type MediaWorkerLoad,
} from './worker/MediaWorkerPool.js';
export { RemoteRouter } from './worker/RemoteRouter.js';
export { Publication, type PublishedTrack } from './router/Publication.js';
export { Subscription, type ConsumedTrack } from './router/Subscription.js';
