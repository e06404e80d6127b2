/**
 * Runner socket `/v1/runners`. A runner dials out with `Authorization: Bearer rt_…`,
 * says `hello`, and then asks for work with `ready` whenever it is idle. The server
 * leases it one job at a time; every message about a job carries the lease `epoch`,
 * and the server drops anything whose epoch is not the job's current one (a runner
 * that lost its lease cannot complete or fail the job afterwards).
 *
 * Images travel as binary frames (see image-frame.ts) so that a 4 MB PNG is not
 * inflated by base64; everything else is a JSON text frame.
 */
import type { RunnerFailureCode } from './codes.js';
import type { GenerationMode, JobStage, Performance, ResolvedJobParams } from './generation.js';

export const RUNNER_PROTOCOL_VERSION = 1;
export const RUNNER_PATH = '/v1/runners';

/** The most pixels of one image a runner may be asked for (a 2× upscale of SDXL's ~1 MP). */
export const RUNNER_MAX_IMAGE_PIXELS = 2048 * 2048;
/**
 * The largest frame the server reads from a runner: the largest image it may send,
 * as an uncompressible RGBA PNG (4 bytes a pixel plus row filters and zlib framing,
 * well under the 64 KiB added), and its header.
 */
export const RUNNER_MAX_FRAME_BYTES = RUNNER_MAX_IMAGE_PIXELS * 4 + 64 * 1024;

/** Close codes the server uses on a runner socket. */
export const RUNNER_CLOSE = {
  /** The server is shutting down; the runner reconnects with backoff. */
  goingAway: 1001,
  /** Not a runner protocol message, an undecodable image frame, or a wrong version. */
  protocolError: 4400,
  /** No `hello` arrived in time after the socket opened. */
  helloTimeout: 4408,
  /** Too many sockets from this address or for this token; reconnect later. */
  tooManyConnections: 4429,
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
  /**
   * The generation modes this runner can execute (its model directory decides: vary needs
   * a VAE encoder, upscale a super-resolution model, ...). Absent: `txt2img` only. The
   * dispatcher gives a runner only jobs of a mode it lists.
   */
  modes?: GenerationMode[];
  /**
   * The performance presets this runner can run: those whose extra weights its model
   * directory holds (PERFORMANCE_PRESETS). Absent: every preset.
   */
  performances?: Performance[];
  /** Optional: runners from before it was added omit it. */
  capabilities?: RunnerCapabilities;
}

/** What a runner runs on and can hold, reported in `hello` and shown in `GET /admin/v1/runners`. */
export interface RunnerCapabilities {
  /** The models it has loaded. */
  models: string[];
  /** The execution provider its sessions run on: `cuda`, `webgpu` or `cpu`. */
  provider: string;
  /** Why each better provider was not used, e.g. `cuda: libonnxruntime_providers_cuda.so not found in …`. */
  fallbacks: string[];
  /** Memory where the model runs (the GPU's with CUDA, the host's otherwise), at `hello`. */
  memory: { kind: 'gpu' | 'host'; freeBytes: number; totalBytes: number };
}

export interface RunnerReadyMessage {
  type: 'ready';
}

/** Fields of every runner message about a leased job. */
export interface LeaseRef {
  jobId: string;
  epoch: number;
}

export interface RunnerHeartbeatMessage extends LeaseRef {
  type: 'heartbeat';
}

export interface RunnerProgressMessage extends LeaseRef {
  type: 'progress';
  step: number;
  steps: number;
  stage: JobStage;
  preview?: string;
}

export interface RunnerCompletedMessage extends LeaseRef {
  type: 'completed';
  /** How many image frames were sent for this job before this message. */
  imageCount: number;
}

/** The job failed on the runner; whether it is retried follows from `code` (codes.ts). */
export interface RunnerFailedMessage extends LeaseRef {
  type: 'failed';
  code: RunnerFailureCode;
  message: string;
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

/**
 * What a job's file is for: the image to vary, upscale or put a scene around, its mask, a
 * LoRA, the tenant's watermark logo.
 */
export const RUNNER_ASSET_KINDS = ['input', 'mask', 'lora', 'logo'] as const;
export type RunnerAssetKind = (typeof RUNNER_ASSET_KINDS)[number];

/**
 * A file a job needs, fetched by the runner over HTTP from `url`: a signed, short-lived
 * capability URL on the server, bound to the job's tenant and this file. The runner checks
 * the bytes against `sha256` (hex) and `bytes` and may keep them, keyed by the hash.
 */
export interface RunnerAsset {
  kind: RunnerAssetKind;
  id: string;
  url: string;
  sha256: string;
  bytes: number;
}

/** The most bytes of one job asset (an upload or a LoRA). */
export const RUNNER_MAX_ASSET_BYTES = 512 * 1024 * 1024;

export interface RunnerJobMessage extends LeaseRef {
  type: 'job';
  params: ResolvedJobParams;
  /** Files the job reads; empty for text-to-image without LoRAs. */
  assets: RunnerAsset[];
}

export interface RunnerCancelMessage extends LeaseRef {
  type: 'cancel';
}

/** The server no longer accepts work for this lease (expired, cancelled, or superseded). */
export interface RunnerLeaseLostMessage extends LeaseRef {
  type: 'lease-lost';
}

export interface RunnerErrorMessage {
  type: 'error';
  code: 'unsupported_version' | 'invalid_request';
  message: string;
}

export type ServerToRunnerMessage =
  RunnerWelcomeMessage | RunnerJobMessage | RunnerCancelMessage | RunnerLeaseLostMessage | RunnerErrorMessage;
