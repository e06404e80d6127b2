import type { Request, Router } from 'express';
import { principalOf, type Authenticators, type EndpointAuth, type Principal } from './auth.js';
import { strategiesFor, type StrategyName } from './strategies/strategy-names.js';

export type { EndpointAuth };

export interface EndpointResult {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * An endpoint is data: where it lives, which credential and scopes it accepts, how its
 * input is read and validated, and which service call answers it. `mount` adds the
 * plumbing once, and enforces `auth` (through the passport strategies it stands for,
 * `strategiesFor`) before `input` reads anything.
 */
export interface Endpoint<Input = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  auth: EndpointAuth;
  /** `principal` is who `auth` let in: the admin, or a tenant's key (with its scopes). */
  input(req: Request, principal: Principal): Input;
  handle(input: Input): Promise<EndpointResult>;
}

/** A mounted route as the route table lists it (`AtelierServer.endpoints`). */
export interface EndpointSummary {
  method: Endpoint['method'];
  path: string;
  auth: EndpointAuth;
  /** The passport strategies `auth` stands for (`strategiesFor`). */
  strategies: readonly StrategyName[];
}

export function endpoint<Input>(definition: Endpoint<Input>): Endpoint<unknown> {
  return definition;
}

export function mount(router: Router, endpoints: Endpoint<unknown>[], auth: Authenticators): void {
  for (const ep of endpoints) {
    const route = `${ep.method.toUpperCase()} ${ep.path}`;
    router[ep.method](ep.path, auth.enforce(ep.auth, route), async (req, res) => {
      const result = await ep.handle(ep.input(req, principalOf(res.locals)));
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      res.status(result.status ?? 200).json(result.body);
    });
  }
}

export function summarise(endpoints: Endpoint<unknown>[]): EndpointSummary[] {
  return endpoints.map(({ method, path, auth }) => ({ method, path, auth, strategies: strategiesFor(auth) }));
}
