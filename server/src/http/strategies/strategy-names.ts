import { EMBED_PATH, REALTIME_PATH, REALTIME_STREAM_PATH, RUNNER_PATH } from '@atelier/protocol';
import type { EndpointAuth } from '../auth.js';

/**
 * Every credential the core server accepts, as the name of its passport strategy on the
 * one Passport instance (identity.ts). CONTRACT.md's credentials table, plus the
 * operator's token; a publishable key is checked by two, as a page's socket or stream
 * (with the page's Origin) and as the iframe page (with the `parent=` the page is framed by).
 */
export const STRATEGIES = ['secret-key', 'admin', 'publishable-key', 'embed-key', 'shopper-session', 'runner-token'] as const;

export type StrategyName = (typeof STRATEGIES)[number];

/** The strategies checked outside Express's REST middleware: on a socket, a stream, a hello. */
export type SocketStrategy = Exclude<StrategyName, 'secret-key' | 'admin'>;

/** The strategies a REST endpoint's `auth` declaration (endpoint.ts) stands for. */
export function strategiesFor(auth: EndpointAuth): readonly StrategyName[] {
  return auth === 'admin' ? ['admin'] : ['secret-key'];
}

/**
 * The entry points that are not REST endpoints, each with the strategies it accepts. An
 * entry point authenticates only through `Identity.at(entry)`, which refuses a strategy
 * the entry does not list here. The widget's credentials are the page's publishable key
 * (with its Origin) at the handshake and, optionally, a shopper session (on the handshake
 * URL or in `hello`). A stream's later POSTs carry no credential: each names the stream
 * an admitted page was handed (a random id) and must come from that page's origin. The
 * iframe page takes the publishable key with the origin that frames it.
 */
export const ENTRY_POINTS = {
  [`WS ${REALTIME_PATH}`]: ['publishable-key', 'shopper-session'],
  [`GET ${REALTIME_STREAM_PATH}`]: ['publishable-key', 'shopper-session'],
  [`WS ${RUNNER_PATH}`]: ['runner-token'],
  [`GET ${EMBED_PATH}`]: ['embed-key'],
} as const satisfies Record<string, readonly SocketStrategy[]>;

export type EntryPoint = keyof typeof ENTRY_POINTS;
