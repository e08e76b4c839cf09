export { SrtpContext } from './srtp/SrtpContext.js';
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
