// The SDK as a module for bundlers: `new OTNamespace(apiUrl)` is what the served scripts
// expose as `OT`; the engine underneath is exported for other facades.
export { OTNamespace, type Device, type OTEvents, type ScreenSharingCapability } from './ot/OT.js';
export {
  Session,
  type SessionOptions,
  type SessionEvents,
  type SignalOptions,
  type SignalEvent,
} from './ot/Session.js';
export {
  Publisher,
  type PublisherProperties,
  type PublisherEvents,
  type PublisherStats,
} from './ot/Publisher.js';
export {
  Subscriber,
  type SubscriberProperties,
  type SubscriberEvents,
  type SubscriberStats,
  type VideoChangeReason,
} from './ot/Subscriber.js';
export type { PreferredResolution } from './ot/videoPreferences.js';
export { Connection } from './ot/Connection.js';
export { Stream } from './ot/Stream.js';
export { OTEvent, type EventOf } from './ot/OTEvent.js';
export { OTEventEmitter, type EventHandler, type EventHandlers } from './ot/OTEventEmitter.js';
export { OTError, toOTError, type OTErrorName } from './ot/errors.js';
export type { WidgetOptions, WidgetTarget } from './ot/widget.js';
export {
  SessionEngine,
  type SessionEngineOptions,
  type SessionEndReason,
  type VideoPreferenceChanges,
} from './core/SessionEngine.js';
export { ClientError, type MediaFailure } from './core/ClientError.js';
export type { IceConfig } from './core/iceConfig.js';
export type { PublisherFallbackRecord, PublisherFallbackStats } from './core/PublisherFallback.js';
export { Logger, logLevels, type LogLevel } from './core/Logger.js';
