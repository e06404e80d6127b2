import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, BRAND_COLOR_TOKENS, CODES, KEY_SCOPES, PLATFORM_AUDIT_ACTIONS, PROBLEM_CODES } from '@atelier/protocol';
import { defaultTenantConfig } from '@atelier/protocol/schemas';
import { restEndpoints } from '../server.js';

type Operation = { requestBody?: unknown; responses: Record<string, unknown>; security?: Record<string, unknown>[] };
type OpenApi = {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties: Record<string, { enum?: string[] }> }>;
    securitySchemes: Record<string, { type: string; scheme: string; description: string }>;
  };
};

// Endpoints are data: listing them needs no working dependencies.
const endpoints = () => restEndpoints(new Proxy({}, { get: () => ({}) }) as never);
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

const document = async () => JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as OpenApi;

describe('docs/openapi.json', () => {
  it('documents every mounted endpoint, and no endpoint that does not exist', async () => {
    // Endpoints are data: listing them needs no working dependencies.
    const mounted = endpoints().map((ep) => `${ep.method.toUpperCase()} ${openApiPath(ep.path)}`);
    const { paths } = await document();
    const documented = Object.entries(paths)
      // Served by routers of their own, not endpoints: signed files, the widget bundle and embed page, health and readiness.
      .filter(
        ([path]) =>
          !path.startsWith('/v1/files/') &&
          ![
            '/widget.js',
            '/embed.js',
            '/embed/studio',
            '/v1/realtime/stream',
            '/v1/realtime/stream/{id}',
            '/healthz',
            '/readyz',
          ].includes(path),
      )
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(mounted.sort());
  });

  it('documents the credential and the scopes each endpoint declares', async () => {
    const { paths } = await document();
    for (const ep of endpoints()) {
      const security = paths[openApiPath(ep.path)]![ep.method]!.security;
      const expected = ep.auth === 'admin' ? [{ adminToken: [] }] : [{ secretKey: [...ep.auth.secretKey] }];
      expect(security, `${ep.method} ${ep.path}`).toEqual(expected);
      if (ep.auth !== 'admin') expect(paths[openApiPath(ep.path)]![ep.method]!.responses, ep.path).toHaveProperty('403');
      // Every secret-key route is rate limited (auth.ts); the admin API is not.
      if (ep.auth !== 'admin') expect(paths[openApiPath(ep.path)]![ep.method]!.responses, ep.path).toHaveProperty('429');
    }
  });

  it("lists the registry's problem codes, and only statuses some problem code has", async () => {
    const { paths, components } = await document();
    expect(components.schemas.Problem!.properties.code!.enum).toEqual([...PROBLEM_CODES]);
    const statuses = new Set(PROBLEM_CODES.map((code) => String(CODES[code].status)));
    const documented = Object.values(paths).flatMap((operations) =>
      Object.values(operations).flatMap((operation) =>
        Object.keys(operation.responses).filter((status) => Number(status) >= 400),
      ),
    );
    expect(documented.filter((status) => !statuses.has(status))).toEqual([]);
  });

  it('documents 400, 413 and 415 for every operation that reads a JSON body', async () => {
    const { paths } = await document();
    const missing = Object.entries(paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.requestBody !== undefined)
        .flatMap(([method, operation]) =>
          ['400', '413', '415']
            .filter((status) => !(status in operation.responses))
            .map((status) => `${method} ${path} ${status}`),
        ),
    );
    expect(missing).toEqual([]);
  });

  it("lists the protocol's key scopes and audit actions (the tenants' and the platform's), no more and no fewer", async () => {
    const { components } = await document();
    expect(components.schemas.KeyScope).toMatchObject({ enum: [...KEY_SCOPES] });
    expect(components.schemas.AuditAction).toMatchObject({ enum: [...AUDIT_ACTIONS] });
    expect(components.schemas.PlatformAuditAction).toMatchObject({ enum: [...PLATFORM_AUDIT_ACTIONS] });
  });

  it('takes credentials in the Authorization header only', async () => {
    const { components } = await document();
    for (const scheme of Object.values(components.securitySchemes)) {
      expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(scheme.description).toContain('header only');
    }
  });

  it('leaves queue out of list items', async () => {
    const { paths } = await document();
    const page = paths['/v1/generations']!.get!.responses['200'] as {
      content: { 'application/json': { schema: { properties: { data: { items: { not?: { required?: string[] } } } } } } };
    };
    expect(page.content['application/json'].schema.properties.data.items.not?.required).toEqual(['queue']);
  });

  it('documents every member of the tenant configuration, and nothing else', async () => {
    type Node = { properties?: Record<string, Node> };
    const { components } = await document();
    const members = (value: unknown, prefix = ''): string[] =>
      Object.entries(value as Record<string, unknown>).flatMap(([key, child]) =>
        child && typeof child === 'object' && !Array.isArray(child) && Object.keys(child).length > 0
          ? members(child, `${prefix}${key}.`)
          : [`${prefix}${key}`],
      );
    const documented = (node: Node, prefix = ''): string[] =>
      Object.entries(node.properties ?? {}).flatMap(([key, child]) =>
        child.properties ? documented(child, `${prefix}${key}.`) : [`${prefix}${key}`],
      );
    const config = components.schemas.TenantConfig as unknown as Node;
    // Colours are all optional, so the default has none: the documented ones are the tokens.
    const expected = [
      ...members(defaultTenantConfig()).filter((member) => member !== 'branding.colors'),
      ...BRAND_COLOR_TOKENS.map((token) => `branding.colors.${token}`),
    ];
    expect(documented(config).sort()).toEqual(expected.sort());
  });
});
