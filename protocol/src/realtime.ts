/**
 * Widget socket `/v1/realtime` (CONTRACT.md). JSON text frames, one message each,
 * discriminated by `type`. Every job event carries `seq`, a number that grows by one
 * per event within a shopper session, so a client that resumes can tell whether it
 * missed something. The full description is in server/docs/realtime-protocol.md.
 */
import type { Code, RefusalReason } from './codes.js';
import type { GenerationParams, JobProgress, PublicImage, QueueEstimate } from './generation.js';
import type { TenantConfig } from './tenant-config.js';

export const REALTIME_PROTOCOL_VERSION = 1;
export const REALTIME_PATH = '/v1/realtime';
/**
 * The same protocol over HTTP where WebSockets are blocked: `GET` opens a Server-Sent
 * Events stream of server messages (its `ready` event names the stream), and each client
 * message is `POST`ed to `REALTIME_STREAM_PATH/<stream id>` as a text/plain body.
 */
export const REALTIME_STREAM_PATH = '/v1/realtime/stream';

/** The largest frame the server reads from a widget; a larger one closes the socket (1009). */
export const REALTIME_MAX_FRAME_BYTES = 64 * 1024;
/** A `generate` ref: chosen by the client, unique within its session. */
export const REF_MAX_LENGTH = 100;

/** Close codes the server uses when it refuses or ends a widget socket. */
export const REALTIME_CLOSE = {
  /** The server is shutting down; reconnect with backoff. */
  goingAway: 1001,
  /** The client spoke something that is not this protocol (binary frames, a wrong version). */
  protocolError: 4400,
  /**
   * Bad or revoked publishable key, an Origin the tenant did not allow, or a shopper
   * session that is invalid, expired or another tenant's. Do not retry with the same
   * credentials.
   */
  unauthorized: 4401,
  /** No `hello` arrived in time after the socket opened. */
  helloTimeout: 4408,
  /** Too many sockets from this address or for this tenant; reconnect later, with backoff. */
  tooManyConnections: 4429,
} as const;

// client → server

export interface HelloMessage {
  type: 'hello';
  v: number;
  /**
   * Resuming the socket session of an earlier `welcome`: its `session` token (a resume
   * token, not a shopper session) and the last `seq` the client saw.
   */
  resume?: { session: string; lastSeq: number };
  /**
   * The shopper-session JWT the tenant minted with `POST /v1/sessions` (the widget's
   * `session-token` attribute). Verified; binds the socket to that shopper.
   */
  shopper?: string;
  /**
   * Without `shopper`: an id the browser made up and keeps (localStorage), so an
   * anonymous shopper can be told apart from others behind the same address. Not
   * verified: it only narrows limits, it never grants anything.
   */
  browser?: string;
}

/**
 * Asks for a generation. Idempotent per (session, `ref`): sending it again after a
 * reconnect answers `accepted` for the job the first one created, never a second job.
 */
export interface GenerateMessage {
  type: 'generate';
  ref: string;
  params: GenerationParams;
}

export interface CancelMessage {
  type: 'cancel';
  id: string;
}

/**
 * Subscribes to a job of this session. `session` may prove an earlier session (its
 * signed token) when a reconnect could not resume it, to follow that session's job.
 */
export interface WatchMessage {
  type: 'watch';
  id: string;
  session?: string;
  /** Carried by an `error` answering this watch, so a client watching several jobs knows which one was refused. */
  ref?: string;
}

export type ClientMessage = HelloMessage | GenerateMessage | CancelMessage | WatchMessage;

// server → client

export interface WidgetConfig {
  tenantName: string;
  defaultPerformance: string;
  performances: string[];
  aspectRatios: string[];
  defaultAspectRatio: string;
  maxPromptLength: number;
  /** Names of the styles a shopper may pick (built-in and the tenant's own, as its configuration allows). */
  styles?: string[];
  /** The styles a request gets when it names none (`styles.default` of the tenant's configuration). */
  defaultStyles?: string[];
  /** The most images one request may ask for on the tenant's plan. */
  maxImages?: number;
  /** The largest picture (width × height) the tenant's plan makes, an upscale's included. */
  maxPixels?: number;
  /**
   * The tenant's saved theme and wording (its configuration's `branding`): the widget's
   * defaults for its `--atelier-*` properties, which the page's own CSS overrides, and
   * texts replacing the widget's own by locale and message key.
   */
  branding?: WidgetBranding;
}

export type WidgetBranding = TenantConfig['branding'];

export interface WelcomeMessage {
  type: 'welcome';
  /**
   * Signed resume token of this socket session; send it back in `hello.resume` after a
   * reconnect. Not a shopper session (that is `hello.shopper`).
   */
  session: string;
  /** True when the server recognised `hello.resume`: the session and its jobs continue. */
  resume: boolean;
  config: WidgetConfig;
}

/** What every event about one job carries. */
export interface JobEventBase {
  id: string;
  seq: number;
  /** The `generate` ref that created the job, on jobs a widget created. */
  ref?: string;
}

export interface AcceptedMessage extends JobEventBase {
  type: 'accepted';
  ref: string;
  cost: { credits: number };
}

export interface QueuedMessage extends JobEventBase, QueueEstimate {
  type: 'queued';
}

export interface ProgressMessage extends JobEventBase, JobProgress {
  type: 'progress';
  /** A small data: URL of the current latent, when the runner sends previews. */
  preview?: string;
}

export interface CompletedMessage extends JobEventBase {
  type: 'completed';
  images: PublicImage[];
}

export interface FailedMessage extends JobEventBase {
  type: 'failed';
  code: Code;
  message: string;
}

export interface ErrorMessage {
  type: 'error';
  /** The `generate` (or `watch` with a ref) this answers, when it answers one. */
  ref?: string;
  code: Code;
  message: string;
  /** Seconds, with `rate_limited` and `unavailable`. */
  retryAfter?: number;
  /** Why, where the code alone does not say (see `REFUSAL_REASONS`). */
  reason?: RefusalReason;
}

/** The events of a job's life, as a watcher receives them. */
export type JobEventMessage = QueuedMessage | ProgressMessage | CompletedMessage | FailedMessage;

export type ServerMessage = WelcomeMessage | AcceptedMessage | JobEventMessage | ErrorMessage;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A job event before it is addressed to a watcher (who adds `id`, `seq` and `ref`). */
export type JobEvent = DistributiveOmit<JobEventMessage, keyof JobEventBase>;
