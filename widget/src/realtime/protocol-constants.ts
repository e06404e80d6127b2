/**
 * Wire constants of the widget socket, mirrored from `@atelier/server/protocol`.
 *
 * The widget may only depend on the server's *types* (its bundle must not contain
 * server modules), so the values are restated here. Each one is typed with the
 * server's literal type, so a server-side change (say, protocol version 2) fails
 * the widget's build instead of drifting silently.
 */
import type {
  PROMPT_MAX_LENGTH as ServerPromptMaxLength,
  REALTIME_CLOSE as ServerRealtimeClose,
  REALTIME_PATH as ServerRealtimePath,
  REALTIME_PROTOCOL_VERSION as ServerProtocolVersion,
} from '@atelier/server/protocol';

export const REALTIME_PROTOCOL_VERSION: typeof ServerProtocolVersion = 1;
export const REALTIME_PATH: typeof ServerRealtimePath = '/v1/realtime';
export const CLOSE_UNAUTHORIZED: (typeof ServerRealtimeClose)['unauthorized'] = 4401;
export const PROMPT_MAX_LENGTH: typeof ServerPromptMaxLength = 2000;
