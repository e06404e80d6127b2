/**
 * Widget socket `/v1/realtime` (CONTRACT.md). JSON text frames, one message each,
 * discriminated by `type`. Every job event carries `seq`, a number that grows by one
 * per event within a shopper session, so a client that resumes can tell whether it
 * missed something. The full description is in server/docs/realtime-protocol.md.
 */
import type { GenerationParams, JobProgress, JobStage, PublicImage } from './generation.js';

export const REALTIME_PROTOCOL_VERSION = 1;
export const REALTIME_PATH = '/v1/realtime';

/** Close codes the server uses when it refuses or ends a widget socket. */
export const REALTIME_CLOSE = {
  /** Bad or revoked publishable key, or an Origin the tenant did not allow. */
  unauthorized: 4401,
  /** The client spoke something that is not this protocol. */
  protocolError: 4400,
  /** The server is shutting down; reconnect with backoff. */
  goingAway: 1001,
} as const;

// client → server

export interface HelloMessage {
  type: 'hello';
  v: number;
  /** A session token from an earlier `welcome`, and the last `seq` the client saw. */
  resume?: { session: string; lastSeq: number };
}

export interface GenerateMessage {
  type: 'generate';
  /** Chosen by the client to match `accepted` / `error` replies to this request. */
  ref: string;
  params: GenerationParams;
}

export interface CancelMessage {
  type: 'cancel';
  id: string;
}

export interface WatchMessage {
  type: 'watch';
  id: string;
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
}

export interface WelcomeMessage {
  type: 'welcome';
  /** Opaque shopper-session token; send it back in `hello.resume` after a reconnect. */
  session: string;
  /** True when the server recognised `hello.resume` and replayed what was missed. */
  resume: boolean;
  config: WidgetConfig;
}

interface JobEventBase {
  id: string;
  seq: number;
}

export interface AcceptedMessage {
  type: 'accepted';
  ref: string;
  id: string;
  seq: number;
  cost: { credits: number };
}

export interface QueuedMessage extends JobEventBase {
  type: 'queued';
  position: number;
  etaSeconds: number | null;
  /** Runners connected and able to take the job; 0 means the job waits for one. */
  runners: number;
}

export interface ProgressMessage extends JobEventBase, JobProgress {
  type: 'progress';
  stage: JobStage;
  /** A small data: URL of the current latent, when the runner sends previews. */
  preview?: string;
}

export interface CompletedMessage extends JobEventBase {
  type: 'completed';
  images: PublicImage[];
}

export interface FailedMessage extends JobEventBase {
  type: 'failed';
  code: string;
  message: string;
}

export interface ErrorMessage {
  type: 'error';
  ref?: string;
  code: string;
  message: string;
}

export type JobEventMessage = QueuedMessage | ProgressMessage | CompletedMessage | FailedMessage;

export type ServerMessage = WelcomeMessage | AcceptedMessage | JobEventMessage | ErrorMessage;
