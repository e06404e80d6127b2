/**
 * Runner socket `/v1/runners`. A runner dials out with `Authorization: Bearer rt_…`,
 * says `hello`, and then asks for work with `ready` whenever it is idle. The server
 * leases it one job at a time; every message about a job carries the lease `epoch`,
 * and the server drops anything whose epoch is not the job's current one (a runner
 * that lost its lease cannot complete or fail the job afterwards).
 *
 * Images travel as binary frames (see `encodeImageFrame`) so that a 4 MB PNG is not
 * inflated by base64; everything else is a JSON text frame.
 */
import type { JobStage, OutputFormat, ResolvedJobParams } from './generation.js';

export const RUNNER_PROTOCOL_VERSION = 1;
export const RUNNER_PATH = '/v1/runners';

export const RUNNER_CLOSE = {
  unauthorized: 4401,
  protocolError: 4400,
  /** Another connection registered with the same runner id. */
  replaced: 4409,
} as const;

// runner → server

export interface RunnerHelloMessage {
  type: 'hello';
  v: number;
  name: string;
  /** Execution provider the runner's sessions use, e.g. `cpu` or `cuda`. */
  device: string;
  model: string;
  maxPixels: number;
}

export interface RunnerReadyMessage {
  type: 'ready';
}

export interface RunnerHeartbeatMessage {
  type: 'heartbeat';
  jobId: string;
  epoch: number;
}

export interface RunnerProgressMessage {
  type: 'progress';
  jobId: string;
  epoch: number;
  step: number;
  steps: number;
  stage: JobStage;
  preview?: string;
}

export interface RunnerCompletedMessage {
  type: 'completed';
  jobId: string;
  epoch: number;
  /** How many image frames were sent for this job before this message. */
  imageCount: number;
  timings: { totalMs: number; samplingMs: number };
}

export interface RunnerFailedMessage {
  type: 'failed';
  jobId: string;
  epoch: number;
  code: string;
  message: string;
  /** Whether running the job again could succeed (BullMQ's UnrecoverableError, inverted). */
  retryable: boolean;
}

export type RunnerMessage =
  | RunnerHelloMessage
  | RunnerReadyMessage
  | RunnerHeartbeatMessage
  | RunnerProgressMessage
  | RunnerCompletedMessage
  | RunnerFailedMessage;

// server → runner

export interface RunnerWelcomeMessage {
  type: 'welcome';
  runnerId: string;
  /** The runner must heartbeat a leased job at least this often. */
  heartbeatMs: number;
  leaseMs: number;
}

export interface RunnerJobMessage {
  type: 'job';
  jobId: string;
  epoch: number;
  params: ResolvedJobParams;
}

export interface RunnerCancelMessage {
  type: 'cancel';
  jobId: string;
  epoch: number;
}

/** The server no longer accepts work for this lease (expired, cancelled, or superseded). */
export interface RunnerLeaseLostMessage {
  type: 'lease-lost';
  jobId: string;
  epoch: number;
}

export interface RunnerErrorMessage {
  type: 'error';
  code: string;
  message: string;
}

export type ServerToRunnerMessage =
  | RunnerWelcomeMessage
  | RunnerJobMessage
  | RunnerCancelMessage
  | RunnerLeaseLostMessage
  | RunnerErrorMessage;

// binary image frames: [u32 big-endian header length][header JSON, UTF-8][image bytes]

export interface ImageFrameHeader {
  type: 'image';
  jobId: string;
  epoch: number;
  index: number;
  width: number;
  height: number;
  format: OutputFormat;
  seed: number;
}

export function encodeImageFrame(header: ImageFrameHeader, bytes: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const frame = new Uint8Array(4 + json.length + bytes.length);
  new DataView(frame.buffer).setUint32(0, json.length, false);
  frame.set(json, 4);
  frame.set(bytes, 4 + json.length);
  return frame;
}

export type DecodedImageFrame =
  | { ok: true; header: ImageFrameHeader; bytes: Uint8Array }
  | { ok: false; reason: string };

export function decodeImageFrame(frame: Uint8Array): DecodedImageFrame {
  if (frame.length < 4) return { ok: false, reason: 'frame shorter than its length prefix' };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, false);
  if (headerLength === 0 || 4 + headerLength > frame.length) {
    return { ok: false, reason: `header length ${headerLength} does not fit a ${frame.length}-byte frame` };
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + headerLength)));
  } catch {
    return { ok: false, reason: 'header is not JSON' };
  }
  if (!isImageFrameHeader(header)) return { ok: false, reason: 'header is not an image frame header' };
  return { ok: true, header, bytes: frame.subarray(4 + headerLength) };
}

function isImageFrameHeader(value: unknown): value is ImageFrameHeader {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Record<string, unknown>;
  return (
    h.type === 'image' &&
    typeof h.jobId === 'string' &&
    Number.isInteger(h.epoch) &&
    Number.isInteger(h.index) &&
    Number.isInteger(h.width) &&
    Number.isInteger(h.height) &&
    (h.format === 'png' || h.format === 'webp') &&
    Number.isInteger(h.seed)
  );
}
