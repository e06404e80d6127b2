import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { promisify } from 'node:util';
import type { AddressPolicy } from './address-policy.js';

const lookupAll = promisify((host: string, callback: (error: Error | null, addresses: LookupAddress[]) => void) =>
  dnsLookup(host, { all: true, verbatim: true }, callback),
);

export interface OutgoingLimits {
  /** Until the TCP (and TLS) connection stands. */
  connectTimeoutMs: number;
  /** For the whole exchange, answer included. */
  totalTimeoutMs: number;
  /** The most bytes of an answer read; the rest is never received. */
  maxResponseBytes: number;
}

export const DEFAULT_OUTGOING_LIMITS: OutgoingLimits = {
  connectTimeoutMs: 5_000,
  totalTimeoutMs: 15_000,
  maxResponseBytes: 16 * 1024,
};

/** Where a URL may be sent to: the addresses its host has now, all of them allowed. */
export type TargetCheck = { ok: true; addresses: LookupAddress[] } | { ok: false; reason: string; unresolvable?: boolean };

export interface OutgoingAnswer {
  /** The receiver's HTTP status; null when none came (refused by policy, unreachable, timed out). */
  statusCode: number | null;
  durationMs: number;
  /** Why no answer came; null when one did (whatever its status). */
  error: string | null;
  /** The first bytes of the answer, as text. */
  body: string;
}

/**
 * Requests to URLs a tenant chose (webhooks), so that none reaches what the tenant
 * should not: the host is resolved here, every address it has must pass the
 * `AddressPolicy`, and the connection goes to the address that was checked (a `lookup`
 * that answers with it), so a DNS answer that changes between the check and the
 * connection (rebinding) changes nothing. Redirects are not followed; only http and
 * https; connect and total timeouts; at most `maxResponseBytes` of an answer are read.
 * One connection per request (`agent: false`): nothing is pooled across tenants.
 */
export class OutgoingHttp {
  constructor(
    private readonly deps: {
      policy: AddressPolicy;
      limits?: Partial<OutgoingLimits>;
      /** Every address of a host name; the system resolver (`dns.lookup`) unless given. */
      resolve?: (host: string) => Promise<LookupAddress[]>;
    },
  ) {}

  private get limits(): OutgoingLimits {
    return { ...DEFAULT_OUTGOING_LIMITS, ...this.deps.limits };
  }

  /** Resolves the URL's host and checks every address it has. */
  async check(url: URL): Promise<TargetCheck> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { ok: false, reason: `${url.protocol} is not http or https` };
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    let addresses: LookupAddress[];
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await (this.deps.resolve ?? lookupAll)(host);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return { ok: false, reason: `${host} does not resolve (${code ?? 'DNS error'})`, unresolvable: true };
      }
    }
    if (addresses.length === 0) return { ok: false, reason: `${host} has no address`, unresolvable: true };
    for (const { address } of addresses) {
      const verdict = this.deps.policy.check(address, port);
      if (!verdict.ok) {
        return { ok: false, reason: address === host ? verdict.reason : `${host} resolves to ${address}: ${verdict.reason}` };
      }
    }
    return { ok: true, addresses };
  }

  /** POSTs `body` to `url` if the policy allows its addresses. Never throws: a failure is in `error`. */
  async post(url: URL, body: string, headers: Record<string, string>): Promise<OutgoingAnswer> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const target = await this.check(url);
    if (!target.ok) return { statusCode: null, durationMs: elapsed(), error: `refused: ${target.reason}`, body: '' };
    try {
      const answer = await this.send(url, target.addresses[0]!, body, headers);
      return { ...answer, durationMs: elapsed(), error: null };
    } catch (error) {
      return { statusCode: null, durationMs: elapsed(), error: (error as Error).message, body: '' };
    }
  }

  /**
   * GETs `url` if the policy allows its addresses, reading at most `maxBytes` of the answer
   * (a longer one is an error, not a truncated file). Never throws.
   */
  async get(
    url: URL,
    { maxBytes, accept }: { maxBytes: number; accept: string },
  ): Promise<{ ok: true; statusCode: number; contentType: string; bytes: Buffer } | { ok: false; reason: string }> {
    const target = await this.check(url);
    if (!target.ok) return { ok: false, reason: `refused: ${target.reason}` };
    try {
      const answer = await this.send(url, target.addresses[0]!, undefined, { accept }, maxBytes + 1);
      if (answer.bytes.length > maxBytes) return { ok: false, reason: `the answer is larger than ${maxBytes} bytes` };
      return { ok: true, statusCode: answer.statusCode, contentType: answer.contentType, bytes: answer.bytes };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  private async send(
    url: URL,
    pinned: LookupAddress,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ statusCode: number; body: string }>;
  private async send(
    url: URL,
    pinned: LookupAddress,
    body: undefined,
    headers: Record<string, string>,
    maxResponseBytes: number,
  ): Promise<{ statusCode: number; contentType: string; bytes: Buffer }>;
  private send(
    url: URL,
    pinned: LookupAddress,
    body: string | undefined,
    headers: Record<string, string>,
    readLimit?: number,
  ): Promise<{ statusCode: number; body: string; contentType: string; bytes: Buffer }> {
    const { connectTimeoutMs, totalTimeoutMs } = this.limits;
    const maxResponseBytes = readLimit ?? this.limits.maxResponseBytes;
    // Answers with the address that was checked, whatever DNS would say now.
    const lookup: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, [pinned]);
      else callback(null, pinned.address, pinned.family);
    };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: body === undefined ? 'GET' : 'POST',
      agent: false,
      lookup,
      headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    return new Promise((resolve, reject) => {
      const fail = (message: string) => request.destroy(new Error(message));
      const total = setTimeout(() => fail(`no complete answer within ${totalTimeoutMs} ms`), totalTimeoutMs);
      const connect = setTimeout(() => fail(`could not connect within ${connectTimeoutMs} ms`), connectTimeoutMs);
      request.on('socket', (socket) => {
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connect));
      });
      request.on('error', (error) => {
        clearTimeout(total);
        clearTimeout(connect);
        reject(error);
      });
      request.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(total);
          clearTimeout(connect);
          const bytes = Buffer.concat(chunks).subarray(0, maxResponseBytes);
          resolve({
            statusCode: response.statusCode ?? 0,
            body: bytes.toString('utf8'),
            contentType: String(response.headers['content-type'] ?? ''),
            bytes,
          });
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          // Enough: the rest of an oversized answer is never read.
          if (size >= maxResponseBytes) {
            done();
            request.destroy();
          }
        });
        response.on('end', done);
        response.on('error', done);
      });
      request.end(body ?? undefined);
    });
  }
}
