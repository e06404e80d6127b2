import { Strategy } from 'passport';

/** What a credential check concludes: who is let in, or why not (a refusal the caller may pass on). */
export type Verdict<Principal, Refusal> = { ok: true; principal: Principal } | { ok: false; refusal: Refusal };

/** Why a socket credential was refused: the reason for logs, the message for the client. */
export interface Refusal {
  reason: string;
  message: string;
}

/**
 * A passport strategy made from one asynchronous check, for credentials that are not an
 * `Authorization: Bearer` header on an Express request: a WebSocket upgrade's query
 * string and Origin, a token from a socket's `hello`. What passport-custom does, in the
 * few lines this needs. The refusal travels as passport's failure challenge, so the
 * caller's `authenticate` callback receives it whole.
 */
export class CredentialStrategy<Request, Principal extends object, Why extends object> extends Strategy {
  constructor(private readonly check: (request: Request) => Promise<Verdict<Principal, Why>>) {
    super();
  }

  // Passport hands over whatever its caller authenticated; Identity.authenticate types that per strategy.
  override authenticate(request: object): void {
    this.check(request as Request).then(
      (verdict) => (verdict.ok ? this.success(verdict.principal) : this.fail(verdict.refusal)),
      (error: unknown) => this.error(error),
    );
  }
}
