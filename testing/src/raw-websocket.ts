import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { vi } from 'vitest';
import { UpgradeRefused } from './socket-probe.js';

/** WebSocket opcodes (RFC 6455 §5.2). */
export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  /** Default true. */
  fin?: boolean;
  /** Client frames must be masked (RFC 6455 §5.1); false sends what `ws` never would. */
  masked?: boolean;
}

/** How the server ended the socket: its close frame, or 1006 when the TCP connection ended without one. */
export interface RawClose {
  code: number;
  reason: string;
}

export interface RawUpgradeOptions {
  headers?: Record<string, string>;
  /** Bytes sent in the same write as the upgrade request: the server reads them as the first frames. */
  early?: Uint8Array;
  /** Hang up as soon as the request is sent, before the server answers (a client that went away mid-handshake). */
  hangUp?: boolean;
}

/** Encodes one frame, with any payload length, masked with a random key unless told otherwise. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : Buffer.from(spec.payload ?? []);
  const masked = spec.masked ?? true;
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (masked ? 4 : 0));
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | (spec.opcode & 0x0f);
  header[1] = (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  key.copy(header, 2 + extended);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = payload[i]! ^ key[i % 4]!;
  return Buffer.concat([header, body]);
}

/** A close frame's payload: the code (any number, valid or not) and a reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}

/**
 * A WebSocket client written by hand over a `net.Socket`, for tests that must send
 * what a real client library refuses to: invalid UTF-8, oversized or unmasked frames,
 * invalid close codes, bytes glued to the handshake. It reads back the server's text
 * messages and its close frame.
 */
export class RawWebSocket {
  /** Every text message the server sent, parsed as JSON where it is JSON. */
  readonly messages: unknown[] = [];
  private buffer = Buffer.alloc(0);
  private closeFrame: RawClose | undefined;
  private readonly ended: Promise<RawClose>;

  private constructor(
    private readonly socket: Socket,
    rest: Buffer,
  ) {
    // Writes after the server has hung up fail with EPIPE/ECONNRESET: expected here.
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.ended = new Promise((resolve) => socket.once('close', () => resolve(this.closeFrame ?? { code: 1006, reason: '' })));
    this.read(rest);
  }

  /** Upgrades `url` (ws:// or http://); rejects with `UpgradeRefused` when the server answers with HTTP. */
  static async connect(url: string | URL, options: RawUpgradeOptions = {}): Promise<RawWebSocket> {
    const { socket, status, headers, body, rest } = await upgrade(url, options);
    if (status !== 101) throw new UpgradeRefused(status, headers, body.toString('utf8'));
    return new RawWebSocket(socket, rest);
  }

  sendFrame(spec: FrameSpec): void {
    this.write(encodeFrame(spec));
  }

  /** Raw bytes, as they are (several frames, or half of one). */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  sendJson(message: unknown): void {
    this.sendFrame({ opcode: OPCODE.text, payload: JSON.stringify(message) });
  }

  /** Waits for the first JSON message of `type` the server sent. */
  receive<T = Record<string, unknown>>(type: string, timeoutMs = 15_000): Promise<T> {
    return vi.waitFor(
      () => {
        const found = this.messages.find((m) => (m as { type?: unknown } | null)?.type === type);
        if (found === undefined) throw new Error(`no "${type}" message yet`);
        return found as T;
      },
      { timeout: timeoutMs, interval: 10 },
    );
  }

  /** The server's close frame (1006 if it dropped the connection without one), once the TCP connection has ended. */
  closed(timeoutMs = 15_000): Promise<RawClose> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.ended, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Waits for the server's close frame (the TCP connection may stay open after it: the
   * server then waits for the client's close frame, which this client sends only when told).
   */
  closeFrameReceived(timeoutMs = 15_000): Promise<RawClose> {
    return vi.waitFor(
      () => {
        if (!this.closeFrame) throw new Error('no close frame yet');
        return this.closeFrame;
      },
      { timeout: timeoutMs, interval: 10 },
    );
  }

  /** Answers (or starts) the closing handshake, as a well-behaved client would. */
  sendClose(code = 1000, reason = ''): void {
    this.sendFrame({ opcode: OPCODE.close, payload: closePayload(code, reason) });
  }

  destroy(): Promise<RawClose> {
    this.socket.destroy();
    return this.ended;
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = decodeServerFrame(this.buffer);
      if (!frame) return;
      this.buffer = this.buffer.subarray(frame.size);
      if (frame.opcode === OPCODE.text) {
        const text = frame.payload.toString('utf8');
        try {
          this.messages.push(JSON.parse(text));
        } catch {
          this.messages.push(text);
        }
      } else if (frame.opcode === OPCODE.close && !this.closeFrame) {
        this.closeFrame = {
          code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005,
          reason: frame.payload.subarray(2).toString('utf8'),
        };
      }
    }
  }
}

/** An HTTP response to a request sent by hand, read until the server closes the connection. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a raw upgrade request (`GET path` with WebSocket headers) and returns the HTTP
 * answer when the server refuses it. Unlike a client library, it sends any path and
 * any headers.
 */
export async function rawUpgradeRequest(url: string | URL, options: RawUpgradeOptions = {}): Promise<RawHttpResponse> {
  const { socket, status, headers, body } = await upgrade(url, options);
  socket.destroy();
  return { status, headers, body: body.toString('utf8') };
}

async function upgrade(
  url: string | URL,
  options: RawUpgradeOptions,
): Promise<{ socket: Socket; status: number; headers: Record<string, string>; body: Buffer; rest: Buffer }> {
  const target = new URL(url);
  const socket = connect({ host: target.hostname, port: Number(target.port) });
  socket.on('error', () => {});
  const request =
    `GET ${target.pathname}${target.search} HTTP/1.1\r\n` +
    Object.entries({
      Host: target.host,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      ...options.headers,
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    '\r\n';
  socket.write(Buffer.concat([Buffer.from(request, 'latin1'), Buffer.from(options.early ?? [])]), () => {
    if (options.hangUp) socket.destroy();
  });

  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = Object.fromEntries(
        lines.map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
      );
      const rest = received.subarray(end + 4);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (status === 101) {
        resolve({ socket, status, headers, body: Buffer.alloc(0), rest });
        return;
      }
      // A refusal: the body is what follows, up to Content-Length (or the end of the connection).
      const length = Number(headers['content-length'] ?? Number.NaN);
      let body = rest;
      const done = () =>
        resolve({ socket, status, headers, body: Number.isNaN(length) ? body : body.subarray(0, length), rest: Buffer.alloc(0) });
      if (body.length >= length) return done();
      socket.on('data', (more: Buffer) => {
        body = Buffer.concat([body, more]);
        if (body.length >= length) done();
      });
      socket.once('close', done);
    };
    const onClose = () =>
      reject(new Error(`the server closed the connection before answering the upgrade (${received.length} bytes received)`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function decodeServerFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < length; i++) payload[i] = payload[i]! ^ buffer[maskOffset + (i % 4)]!;
  return { opcode, payload, size: offset + length };
}
