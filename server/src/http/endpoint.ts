import type { Request, RequestHandler, Router } from 'express';

export interface EndpointResult {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * An endpoint is data: where it lives, who may call it, how its input is read and
 * validated, and which service call answers it. `mount` adds the plumbing once.
 */
export interface Endpoint<Input = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  auth: RequestHandler;
  input(req: Request): Input;
  handle(input: Input): Promise<EndpointResult>;
}

export function endpoint<Input>(definition: Endpoint<Input>): Endpoint<unknown> {
  return definition;
}

export function mount(router: Router, endpoints: Endpoint<unknown>[]): void {
  for (const ep of endpoints) {
    router[ep.method](ep.path, ep.auth, async (req, res) => {
      const result = await ep.handle(ep.input(req));
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      res.status(result.status ?? 200).json(result.body);
    });
  }
}
