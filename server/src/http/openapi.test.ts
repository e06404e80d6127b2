import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { adminEndpoints } from './routes/admin-routes.js';
import { generationEndpoints } from './routes/generation-routes.js';

type OpenApi = { paths: Record<string, Record<string, unknown>> };

const document = async () =>
  JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as OpenApi;

describe('docs/openapi.json', () => {
  it('documents every mounted endpoint, and no endpoint that does not exist', async () => {
    // Endpoints are data: listing them needs no working dependencies.
    const deps = new Proxy({}, { get: () => ({}) }) as never;
    const mounted = [...generationEndpoints(deps), ...adminEndpoints(deps)].map(
      (ep) => `${ep.method.toUpperCase()} ${ep.path.replace(/:(\w+)/g, '{$1}')}`,
    );
    const { paths } = await document();
    const documented = Object.entries(paths)
      .filter(([path]) => path.startsWith('/v1/generations') || path.startsWith('/admin/'))
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(mounted.sort());
  });
});
