import type { IncomingMessage } from 'node:http';
import { Passport } from 'passport';
import type { KeyService } from '../../services/key-service.js';
import type { RunnerTokenService } from '../../services/runner-token-service.js';
import type { ShopperSessions } from '../../services/shopper-sessions.js';
import { adminStrategy, secretKeyStrategy } from './bearer-strategies.js';
import type { Refusal, Verdict } from './credential-strategy.js';
import { embedKeyStrategy, type EmbedPrincipal } from './embed-key-strategy.js';
import { publishableKeyStrategy, type WidgetPrincipal } from './publishable-key-strategy.js';
import { runnerTokenStrategy, type RunnerPrincipal } from './runner-token-strategy.js';
import { shopperSessionStrategy, type ShopperPrincipal, type ShopperSessionRequest } from './shopper-session-strategy.js';
import { ENTRY_POINTS, type EntryPoint, type SocketStrategy } from './strategy-names.js';

/** What each socket strategy reads, and whom it lets in. */
interface SocketCredentials {
  'publishable-key': { request: IncomingMessage; principal: WidgetPrincipal };
  'embed-key': { request: IncomingMessage; principal: EmbedPrincipal };
  'shopper-session': { request: ShopperSessionRequest; principal: ShopperPrincipal };
  'runner-token': { request: IncomingMessage; principal: RunnerPrincipal };
}

export type CredentialRequest<N extends SocketStrategy> = SocketCredentials[N]['request'];
export type CredentialVerdict<N extends SocketStrategy> = Verdict<SocketCredentials[N]['principal'], Refusal>;

/** The credential check of one entry point: only the strategies it declares (ENTRY_POINTS). */
export interface Gate<N extends SocketStrategy> {
  authenticate<M extends N>(name: M, request: CredentialRequest<M>): Promise<CredentialVerdict<M>>;
}

export interface IdentityDeps {
  keys: Pick<KeyService, 'verifySecretKey' | 'verifyPublishableKey'>;
  adminToken: string;
  shopperSessions: Pick<ShopperSessions, 'verify'>;
  runnerTokens: Pick<RunnerTokenService, 'verify'>;
  /** This server's public URL, whose origin every publishable key may be used from. */
  publicUrl?: () => string;
}

/**
 * Every credential of the core server is a passport strategy on this one Passport
 * instance (no global state, no sessions), and every place that accepts a credential
 * goes through `passport.authenticate(name, {session: false}, callback)`: the REST
 * middleware (auth.ts) on Express requests, the sockets and the HTTP stream on the bare
 * upgrade or stream request, a socket's `hello` on its shopper session, and the iframe
 * page on its request.
 */
export class Identity {
  readonly passport = new Passport();

  constructor(deps: IdentityDeps) {
    this.passport.use('secret-key', secretKeyStrategy(deps));
    this.passport.use('admin', adminStrategy(deps));
    this.passport.use('publishable-key', publishableKeyStrategy(deps));
    this.passport.use('embed-key', embedKeyStrategy(deps));
    this.passport.use('shopper-session', shopperSessionStrategy({ sessions: deps.shopperSessions }));
    this.passport.use('runner-token', runnerTokenStrategy({ tokens: deps.runnerTokens }));
  }

  /** The check for `entry`, which refuses (as a programming error) any strategy the entry does not declare. */
  at<E extends EntryPoint>(entry: E): Gate<(typeof ENTRY_POINTS)[E][number]> {
    const declared: readonly SocketStrategy[] = ENTRY_POINTS[entry];
    return {
      authenticate: (name, request) => {
        if (!declared.includes(name)) {
          return Promise.reject(new Error(`${entry} does not declare the ${name} strategy (strategy-names.ts)`));
        }
        return this.authenticate(name, request);
      },
    };
  }

  /**
   * Runs strategy `name` on `request`, through passport with a custom callback: no
   * response is written, the caller tells the client in its own protocol (a close
   * code, an error message). A strategy that throws rejects.
   */
  authenticate<N extends SocketStrategy>(name: N, request: CredentialRequest<N>): Promise<CredentialVerdict<N>> {
    return new Promise((resolve, reject) => {
      const run = this.passport.authenticate(
        name,
        { session: false },
        (error: unknown, principal: SocketCredentials[N]['principal'] | false, refusal: Refusal) => {
          if (error) return reject(error instanceof Error ? error : new Error('a strategy failed', { cause: error }));
          resolve(principal ? { ok: true, principal } : { ok: false, refusal });
        },
      ) as (request: object, response: undefined, next: (error: unknown) => void) => void;
      run(request, undefined, reject);
    });
  }
}
