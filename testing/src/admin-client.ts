import { expect } from 'vitest';
import type { Problem } from '@atelier/protocol';
import { TEST_ADMIN_TOKEN } from './test-server.js';

/** Any method on the admin API with the test admin token (TestServer.admin covers GET and POST). */
export function adminRequest(
  serverUrl: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(new URL(path, serverUrl), {
    method,
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

export type ProblemBody = Problem & { errors?: { field?: string; message: string }[] };

/** Asserts a problem+json answer with this status and code, and returns it. */
export async function expectProblem(response: Response, status: number, code: string): Promise<ProblemBody> {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await response.json()) as ProblemBody;
  expect({ status: response.status, code: problem.code }).toEqual({ status, code });
  expect(problem.status).toBe(status);
  return problem;
}
