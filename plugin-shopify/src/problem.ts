import type { Response } from 'express';
import { CODES, PROBLEM_TYPE_BASE, type ProblemCode } from '@atelier/protocol';

/** An expected refusal, answered as the rest of the API answers: `application/problem+json`. */
export function sendProblem(res: Response, code: ProblemCode, detail: string): void {
  const { status, title } = CODES[code];
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail, code }));
}
