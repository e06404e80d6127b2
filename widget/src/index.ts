/**
 * `@atelier/widget`: importing this module registers `<atelier-studio>`.
 */
export { define, TAG_NAME } from './atelier-studio/atelier-studio.js';
export { AtelierStudio, type StudioMode, type StudioTheme } from './atelier-studio/atelier-studio.component.js';
export { AtelierStartEvent, type AtelierStartDetail } from './events/atelier-start.js';
export { AtelierProgressEvent, type AtelierProgressDetail } from './events/atelier-progress.js';
export { AtelierCompleteEvent, type AtelierCompleteDetail } from './events/atelier-complete.js';
export { AtelierErrorEvent, type AtelierErrorDetail } from './events/atelier-error.js';
export { AtelierSelectEvent, type AtelierSelectDetail } from './events/atelier-select.js';
export {
  RealtimeClient,
  type ConnectionState,
  type RealtimeClientOptions,
  type RealtimeEventMap,
  type WebSocketConstructor,
  type WebSocketLike,
} from './realtime/realtime-client.js';
export { type MessageKey, type Messages, type Plural } from './i18n/messages.js';
export { registerLocale } from './i18n/translator.js';
