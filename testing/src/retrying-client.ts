import { setTimeout as sleep } from 'node:timers/promises';

export type RetriedAnswer =
  | { kind: 'answered'; status: number; body: unknown; tries: number }
  /** No definite answer before the deadline: the request may or may not have taken effect. */
  | { kind: 'indeterminate'; tries: number };

export interface RetriedRequest {
  url: string;
  authorization: string;
  /** Sent with every try, so that the server applies the request once however often it arrives. */
  idempotencyKey: string;
  body: unknown;
  /** Give up (indeterminate) after this long; default 60 s. */
  deadlineMs?: number;
}

/**
 * A client that does what a careful shop backend does while the server crashes under
 * it: POST with an `Idempotency-Key`, and on a connection error, a 5xx or a 429, try
 * again with the same key until a definite answer comes. The pause between tries only
 * paces them; it waits for nothing in particular.
 */
export async function postUntilAnswered(request: RetriedRequest): Promise<RetriedAnswer> {
  const deadline = Date.now() + (request.deadlineMs ?? 60_000);
  for (let tries = 1; ; tries += 1) {
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: {
          Authorization: request.authorization,
          'Content-Type': 'application/json',
          'Idempotency-Key': request.idempotencyKey,
        },
        body: JSON.stringify(request.body),
        signal: AbortSignal.timeout(15_000),
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (response.status < 500 && response.status !== 429) return { kind: 'answered', status: response.status, body, tries };
    } catch {
      // Refused, reset or timed out: the server is down or restarting.
    }
    if (Date.now() >= deadline) return { kind: 'indeterminate', tries };
    await sleep(Math.min(1_000, 50 * 2 ** Math.min(tries, 5)));
  }
}
