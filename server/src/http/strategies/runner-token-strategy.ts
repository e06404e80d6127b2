import type { IncomingMessage } from 'node:http';
import type { RunnerTokenService } from '../../services/runner-token-service.js';
import { CredentialStrategy, type Refusal } from './credential-strategy.js';

export interface RunnerPrincipal {
  kind: 'runner';
  tokenId: string;
}

/** `runner-token`: a GPU runner's `Authorization: Bearer rt_…` on the runner socket's upgrade. */
export function runnerTokenStrategy(deps: {
  tokens: Pick<RunnerTokenService, 'verify'>;
}): CredentialStrategy<IncomingMessage, RunnerPrincipal, Refusal> {
  return new CredentialStrategy(async (request: IncomingMessage) => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const check = await deps.tokens.verify(token);
    return check.ok
      ? { ok: true, principal: { kind: 'runner', tokenId: check.tokenId } }
      : { ok: false, refusal: { reason: check.reason, message: 'A valid runner token is required: Authorization: Bearer rt_…' } };
  });
}
