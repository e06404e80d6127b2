import sharp from 'sharp';
import {
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  RUNNER_PATH,
  RUNNER_PROTOCOL_VERSION,
  encodeImageFrame,
  type ImageFrameHeader,
  type RunnerJobMessage,
  type ServerMessage,
  type ServerToRunnerMessage,
  socketUrl,
} from '@atelier/protocol';
import { serverMessageSchema, serverToRunnerMessageSchema } from '@atelier/protocol/schemas';
import { type OpenOptions, SocketProbe } from './socket-probe.js';

export type RunnerProbe = SocketProbe<ServerToRunnerMessage>;
export type WidgetProbe = SocketProbe<ServerMessage>;

/** Opens `/v1/runners` with `Authorization: Bearer <token>` (or no header at all). */
export function openRunnerSocket(serverUrl: string, token: string | undefined, options?: OpenOptions): Promise<RunnerProbe> {
  return SocketProbe.open<ServerToRunnerMessage>(
    socketUrl(serverUrl, RUNNER_PATH),
    token === undefined ? {} : { Authorization: `Bearer ${token}` },
    serverToRunnerMessageSchema,
    options,
  );
}

/** A runner that has said hello and been welcomed; it has not said `ready` yet. */
export async function connectRunner(
  serverUrl: string,
  token: string,
  name = 'test-runner',
  options?: OpenOptions,
): Promise<RunnerProbe & { runnerId: string }> {
  const runner = await openRunnerSocket(serverUrl, token, options);
  runner.send({ type: 'hello', v: RUNNER_PROTOCOL_VERSION, name, device: 'cpu', model: 'tiny', maxPixels: 2048 * 2048 });
  const welcome = await runner.receive('welcome');
  return Object.assign(runner, { runnerId: welcome.runnerId });
}

/** Sends the job's images as binary frames (real PNGs) and then `completed`. */
export function completeJob(runner: RunnerProbe, job: Pick<RunnerJobMessage, 'jobId' | 'epoch'>, images: Uint8Array[]): void {
  images.forEach((bytes, index) => runner.sendBinary(imageFrame(job, index, bytes)));
  runner.send({ type: 'completed', jobId: job.jobId, epoch: job.epoch, imageCount: images.length });
}

export function imageFrame(
  job: Pick<RunnerJobMessage, 'jobId' | 'epoch'>,
  index: number,
  bytes: Uint8Array,
  header: Partial<ImageFrameHeader> = {},
): Uint8Array {
  return encodeImageFrame(
    { type: 'image', jobId: job.jobId, epoch: job.epoch, index, width: 8, height: 8, format: 'png', seed: 1, ...header },
    bytes,
  );
}

/** A real 8×8 PNG of one colour; different colours give different bytes. */
export function pngBytes(red: number, green = 0, blue = 0): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: { r: red, g: green, b: blue } } })
    .png()
    .toBuffer();
}

/** Opens `/v1/realtime?key=…` as a browser page on `origin` would (no Origin header when undefined). */
export function openWidgetSocket(serverUrl: string, publishableKey: string, origin: string | undefined): Promise<WidgetProbe> {
  return SocketProbe.open<ServerMessage>(
    socketUrl(serverUrl, REALTIME_PATH, { key: publishableKey }),
    origin === undefined ? {} : { Origin: origin },
    serverMessageSchema,
  );
}

/** A widget socket that has said hello; returns the welcome too. */
export async function connectWidget(
  serverUrl: string,
  publishableKey: string,
  origin: string,
  resume?: { session: string; lastSeq: number },
): Promise<{ widget: WidgetProbe; welcome: Extract<ServerMessage, { type: 'welcome' }> }> {
  const widget = await openWidgetSocket(serverUrl, publishableKey, origin);
  widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION, ...(resume ? { resume } : {}) });
  return { widget, welcome: await widget.receive('welcome') };
}
