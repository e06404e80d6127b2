import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationParams } from '@atelier/protocol';
import { cancelActiveJobs, expectProblem, startTestServer, type TestServer } from '@atelier/testing';
import { runWithTenant } from '../tenancy/tenant-context.js';

/**
 * A product photo named by URL (`inputImageUrl`): fetched by the server only from the
 * tenant's own sites, through the SSRF-guarded client, checked as an upload is, and kept
 * as the tenant's upload. Every refusal is a 400 naming the field and creates nothing.
 */
let server: TestServer;
let shop: Server;
let origin: string;
let tenant: { tenantId: string; secretKey: string };
const fetched: string[] = [];

beforeAll(async () => {
  const png = await sharp({ create: { width: 128, height: 96, channels: 3, background: { r: 20, g: 90, b: 200 } } })
    .png()
    .toBuffer();
  shop = createServer((request, response) => {
    fetched.push(request.url ?? '');
    switch (request.url) {
      case '/photo.png':
        return response.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
      case '/photo.svg':
        return response.writeHead(200, { 'Content-Type': 'image/svg+xml' }).end('<svg xmlns="http://www.w3.org/2000/svg"/>');
      case '/lies.png':
        return response.writeHead(200, { 'Content-Type': 'image/png' }).end('not a png at all');
      case '/huge.png':
        return response.writeHead(200, { 'Content-Type': 'image/png' }).end(Buffer.alloc(20 * 1024 * 1024 + 1));
      case '/moved.png':
        return response.writeHead(302, { Location: '/photo.png' }).end();
      default:
        return response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
  // The shop runs on loopback, which the outgoing client refuses unless the operator allows it.
  server = await startTestServer({ ATELIER_OUTGOING_ALLOW: '127.0.0.1' });
  tenant = await server.createTenant({ origins: [origin, 'http://10.1.2.3'] });
});

afterAll(async () => {
  await cancelActiveJobs(server);
  await server?.stop();
  await new Promise((resolve) => shop?.close(resolve));
});

const create = (body: GenerationParams) => server.api(tenant.secretKey, '/v1/generations', { body });
const counts = () =>
  runWithTenant(tenant.tenantId, async () => ({
    uploads: await server.database.models.Upload.countDocuments(),
    generations: await server.database.models.Generation.countDocuments(),
  }));

describe('inputImageUrl', () => {
  it("fetches the photo from the tenant's own origin once, and uses it as an upload", async () => {
    fetched.length = 0;
    const first = await create({ prompt: 'on a marble counter', mode: 'background', inputImageUrl: `${origin}/photo.png` });
    expect(first.status).toBe(202);
    const second = await create({ prompt: 'in a garden', mode: 'vary-strong', inputImageUrl: `${origin}/photo.png` });
    expect(second.status).toBe(202);
    expect(fetched).toEqual(['/photo.png']);
    const jobs = await runWithTenant(tenant.tenantId, () =>
      server.database.models.Generation.find().sort({ createdAt: 1 }).lean(),
    );
    const uploads = await runWithTenant(tenant.tenantId, () => server.database.models.Upload.find().lean());
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ sourceUrl: `${origin}/photo.png`, width: 128, height: 96, format: 'png' });
    for (const job of jobs) {
      expect(job.assets).toEqual([{ kind: 'input', id: uploads[0]!._id, sha256: uploads[0]!.sha256, bytes: uploads[0]!.bytes }]);
      expect(job.resolved).toMatchObject({ inputImageId: uploads[0]!._id, width: 128, height: 96 });
    }
  });

  it.each([
    [
      'a host the tenant does not allow',
      () => `http://localhost:${new URL(origin).port}/photo.png`,
      /must be on one of this shop's own sites \(its allowed origins, or a host in productImageHosts\); localhost:\d+ is not/,
    ],
    [
      'an allowed origin on a private address',
      () => 'http://10.1.2.3/photo.png',
      /could not be fetched \(refused: 10\.1\.2\.3 is a private address\)/,
    ],
    ['a missing photo', () => `${origin}/gone.png`, /could not be fetched \(HTTP 404\)/],
    ['a redirect (never followed)', () => `${origin}/moved.png`, /could not be fetched \(HTTP 302\)/],
    [
      'an SVG',
      () => `${origin}/photo.svg`,
      /refused: Content-Type must be one of image\/png, image\/jpeg, image\/webp, not image\/svg\+xml/,
    ],
    ['bytes that are not the image they claim', () => `${origin}/lies.png`, /refused: The body is not a readable PNG image/],
    [
      'a photo over the upload limit',
      () => `${origin}/huge.png`,
      /could not be fetched \(the answer is larger than 20971520 bytes\)/,
    ],
  ])('refuses %s with a 400 naming inputImageUrl, creating nothing', async (_, url, detail) => {
    const before = await counts();
    const problem = await expectProblem(
      await create({ prompt: 'x', mode: 'background', inputImageUrl: url() }),
      400,
      'invalid_request',
    );
    expect(problem.detail).toMatch(detail);
    expect(await counts()).toEqual(before);
  });

  it('refuses malformed and misplaced inputImageUrl before fetching anything', async () => {
    fetched.length = 0;
    const cases: [GenerationParams, RegExp][] = [
      [{ prompt: 'x', mode: 'background', inputImageUrl: 'file:///etc/passwd' }, /inputImageUrl must be an http or https URL/],
      [{ prompt: 'x', inputImageUrl: `${origin}/photo.png` }, /inputImageUrl needs a mode that uses it/],
      [
        { prompt: 'x', mode: 'background', inputImageUrl: `${origin}/photo.png`, inputImageId: 'upl_AAAAAAAAAAAAAAAAAAAA' },
        /give inputImageId or inputImageUrl, not both/,
      ],
    ];
    for (const [body, detail] of cases) {
      const problem = await expectProblem(await create(body), 400, 'invalid_request');
      expect(`${problem.detail} ${JSON.stringify(problem)}`).toMatch(detail);
    }
    expect(fetched).toEqual([]);
  });

  it("takes product photos from a host in the configuration's productImageHosts, which must be host names", async () => {
    const put = (body: unknown) => server.api(tenant.secretKey, '/v1/config', { method: 'PUT', body });
    const bad = await expectProblem(await put({ productImageHosts: ['https://cdn.shopify.com/'] }), 400, 'invalid_request');
    expect(JSON.stringify(bad)).toContain('productImageHosts');
    expect((await put({ productImageHosts: ['cdn.shopify.com'] })).status).toBe(200);
    const config = (await (await server.api(tenant.secretKey, '/v1/config')).json()) as { productImageHosts: string[] };
    expect(config.productImageHosts).toEqual(['cdn.shopify.com']);
    // A listed host is taken over https only; over http it is no more the shop's than any other.
    const problem = await expectProblem(
      await create({ prompt: 'x', mode: 'background', inputImageUrl: 'http://cdn.shopify.com/photo.png' }),
      400,
      'invalid_request',
    );
    expect(problem.detail).toMatch(/cdn\.shopify\.com is not/);
  });
});
