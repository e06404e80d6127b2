import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type {
  CreatedWebhookEndpointBody,
  RotatedWebhookSecretBody,
  WebhookDeliveryBody,
  WebhookDeliveryListBody,
  WebhookEndpointBody,
  WebhookPayload,
} from '@atelier/protocol';
import {
  completeJob,
  connectRunner,
  createGeneration,
  expectProblem,
  pngBytes,
  restartTestServer,
  startTestServer,
  type RunnerProbe,
  type TestServer,
} from '@atelier/testing';
import { AddressPolicy } from '../../net/address-policy.js';
import { OutgoingHttp } from '../../net/outgoing-http.js';
import { runAsSystem } from '../../tenancy/tenant-context.js';
import { DELIVERY_LOG_DAYS, WebhookDeliverer } from './webhook-deliverer.js';

/**
 * Webhooks end to end (issue 11, "Webhooks to tenants"): a real server, a real receiver
 * on a free port, real jobs. Signatures are checked by the verifier below, written from
 * the Standard Webhooks specification (https://www.standardwebhooks.com), not by the
 * server's signer.
 */

/** Standard Webhooks verification, from the spec: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with base64-decoded `whsec_…`. */
function verifyStandardWebhook(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): { ok: true; matched: number } | { ok: false; reason: string } {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    return { ok: false, reason: 'missing headers' };
  }
  // The spec's tolerance against replays: five minutes either way.
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return { ok: false, reason: 'timestamp' };
  if (!secret.startsWith('whsec_')) return { ok: false, reason: 'secret format' };
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  const passed = signatures.split(' ').filter((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return passed.length > 0 ? { ok: true, matched: passed.length } : { ok: false, reason: 'no signature matches' };
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver on a free loopback port: records every request; each path answers its scripted statuses in turn, then 200. */
async function startReceiver() {
  const received: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = scripts.get(path)?.shift() ?? 200;
      res.end(res.statusCode === 200 ? 'thanks' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    at: (path: string) => received.filter((request) => request.path === path),
    script: (path: string, statuses: number[]) => scripts.set(path, statuses),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;
type Tenant = { tenantId: string; secretKey: string };

let receiver: Receiver;
let server: TestServer;
let runner: RunnerProbe;
let acme: Tenant;
let globex: Tenant;

const env = (port: number) => ({
  // Only the receiver's own address and port: every other loopback target stays refused.
  ATELIER_OUTGOING_ALLOW: `127.0.0.1/32:${port}`,
  ATELIER_WEBHOOK_RETRY_SCHEDULE: '50ms,50ms,50ms',
});

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer(env(receiver.port));
  runner = await connectRunner(server.url, await server.createRunnerToken());
  acme = await server.createTenant({ name: 'Acme', plan: 'enterprise' });
  globex = await server.createTenant({ name: 'Globex', plan: 'enterprise' });
});

afterAll(async () => {
  await runner.close();
  await server.stop();
  await receiver.close();
});

async function register(tenant: Tenant, path: string, events: string[]): Promise<CreatedWebhookEndpointBody> {
  const response = await server.api(tenant.secretKey, '/v1/webhook-endpoints', { body: { url: receiver.url(path), events } });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedWebhookEndpointBody;
}

async function deliveries(tenant: Tenant, endpointId: string): Promise<WebhookDeliveryBody[]> {
  const response = await server.api(tenant.secretKey, `/v1/webhook-endpoints/${endpointId}/deliveries`);
  expect(response.status).toBe(200);
  return ((await response.json()) as WebhookDeliveryListBody).data;
}

/** A generation of the tenant's, cancelled while queued: its `generation.canceled` event. */
async function canceledGeneration(tenant: Tenant): Promise<string> {
  const id = await createGeneration(server, tenant.secretKey);
  expect((await server.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' })).status).toBe(200);
  return id;
}

describe('delivery', () => {
  it('signs every delivery as Standard Webhooks says, with the public shape of the generation and no expiring URLs', async () => {
    const endpoint = await register(acme, '/signed', ['generation.completed']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const jobId = await createGeneration(server, acme.secretKey, { prompt: 'a walnut lamp' });
    runner.send({ type: 'ready' });
    const job = await runner.receive('job', (message) => message.jobId === jobId);
    completeJob(runner, job, [await pngBytes(90)]);

    await vi.waitFor(() => expect(receiver.at('/signed')).toHaveLength(1));
    const [request] = receiver.at('/signed');
    expect(verifyStandardWebhook(endpoint.secret, request!.headers, request!.body)).toEqual({ ok: true, matched: 1 });
    // The verifier can fail: another secret, or one changed byte of the body.
    expect(verifyStandardWebhook('whsec_' + Buffer.alloc(32, 1).toString('base64'), request!.headers, request!.body).ok).toBe(
      false,
    );
    expect(verifyStandardWebhook(endpoint.secret, request!.headers, request!.body.replace('succeeded', 'succeedex')).ok).toBe(
      false,
    );

    expect(request!.headers['content-type']).toBe('application/json');
    const payload = JSON.parse(request!.body) as WebhookPayload;
    expect(payload).toMatchObject({
      type: 'generation.completed',
      data: { id: jobId, status: 'succeeded', params: { prompt: 'a walnut lamp' }, error: null },
    });
    expect(Date.parse(payload.timestamp)).not.toBeNaN();
    expect(payload.data.images).toEqual([{ id: expect.stringMatching(/^img_/), width: 8, height: 8, format: 'png' }]);
    expect(request!.body).not.toContain('signature=');

    await vi.waitFor(async () => expect((await deliveries(acme, endpoint.id))[0]?.status).toBe('delivered'));
    const [delivery] = await deliveries(acme, endpoint.id);
    expect(delivery).toMatchObject({
      id: request!.headers['webhook-id'],
      eventType: 'generation.completed',
      generationId: jobId,
      nextAttemptAt: null,
      attempts: [{ attempt: 1, statusCode: 200, error: null, responseExcerpt: 'thanks' }],
    });
    expect(delivery!.attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('retries a delivery the receiver answered 500, with the same id and body, until it is delivered', async () => {
    const endpoint = await register(acme, '/flaky', ['generation.canceled']);
    receiver.script('/flaky', [500]);
    const jobId = await canceledGeneration(acme);

    await vi.waitFor(async () => expect((await deliveries(acme, endpoint.id))[0]?.status).toBe('delivered'));
    const [delivery] = await deliveries(acme, endpoint.id);
    expect(delivery!.generationId).toBe(jobId);
    expect(delivery!.attempts).toMatchObject([
      { attempt: 1, statusCode: 500, error: 'answered 500', responseExcerpt: 'not now' },
      { attempt: 2, statusCode: 200, error: null },
    ]);
    const requests = receiver.at('/flaky');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
    expect(requests[1]!.body).toBe(requests[0]!.body);
    expect(verifyStandardWebhook(endpoint.secret, requests[1]!.headers, requests[1]!.body).ok).toBe(true);
  });

  it('gives up after the schedule: every attempt logged, the delivery failed', async () => {
    const endpoint = await register(acme, '/down', ['generation.canceled']);
    receiver.script('/down', [503, 503, 503, 503, 503]);
    await canceledGeneration(acme);
    await vi.waitFor(async () => expect((await deliveries(acme, endpoint.id))[0]?.status).toBe('failed'));
    const [delivery] = await deliveries(acme, endpoint.id);
    // The first attempt and one after each of the schedule's three waits.
    expect(delivery!.attempts.map((attempt) => attempt.statusCode)).toEqual([503, 503, 503, 503]);
    expect(delivery!.error).toMatch(/No attempt succeeded \(4 made\)/);
    expect(receiver.at('/down')).toHaveLength(4);
    await server.api(acme.secretKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  });

  it('disables an endpoint that answers 410 Gone, and sends it nothing more', async () => {
    const gone = await register(acme, '/gone', ['generation.canceled']);
    const witness = await register(acme, '/witness', ['generation.canceled']);
    receiver.script('/gone', [410]);
    await canceledGeneration(acme);
    await vi.waitFor(async () => expect((await deliveries(acme, gone.id))[0]?.status).toBe('failed'));
    const endpoint = (await (await server.api(acme.secretKey, `/v1/webhook-endpoints/${gone.id}`)).json()) as WebhookEndpointBody;
    expect(endpoint).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect((await deliveries(acme, gone.id))[0]!.attempts).toMatchObject([{ attempt: 1, statusCode: 410 }]);

    // A later event reaches the witness; by then the disabled endpoint would have had it too.
    await canceledGeneration(acme);
    await vi.waitFor(() => expect(receiver.at('/witness')).toHaveLength(2));
    expect(receiver.at('/gone')).toHaveLength(1);
    expect(await deliveries(acme, gone.id)).toHaveLength(1);
    for (const id of [gone.id, witness.id]) await server.api(acme.secretKey, `/v1/webhook-endpoints/${id}`, { method: 'DELETE' });
  });

  it('redelivers a delivery on request, once, with the same webhook-id', async () => {
    const endpoint = await register(acme, '/again', ['generation.canceled']);
    await canceledGeneration(acme);
    await vi.waitFor(async () => expect((await deliveries(acme, endpoint.id))[0]?.status).toBe('delivered'));
    const [delivery] = await deliveries(acme, endpoint.id);
    const redeliver = `/v1/webhook-endpoints/${endpoint.id}/deliveries/${delivery!.id}/redeliver`;

    const response = await server.api(acme.secretKey, redeliver, { method: 'POST' });
    expect(response.status).toBe(202);
    await vi.waitFor(async () =>
      expect((await deliveries(acme, endpoint.id))[0]).toMatchObject({
        status: 'delivered',
        attempts: [{ attempt: 1 }, { attempt: 2, statusCode: 200 }],
      }),
    );
    const requests = receiver.at('/again');
    expect(requests.map((request) => request.headers['webhook-id'])).toEqual([delivery!.id, delivery!.id]);
    expect(requests[1]!.body).toBe(requests[0]!.body);

    // Not for a disabled endpoint, nor for another endpoint's delivery.
    await server.api(acme.secretKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: 'PATCH', body: { enabled: false } });
    await expectProblem(await server.api(acme.secretKey, redeliver, { method: 'POST' }), 409, 'conflict');
    const other = await register(acme, '/other', ['generation.failed']);
    await expectProblem(
      await server.api(acme.secretKey, `/v1/webhook-endpoints/${other.id}/deliveries/${delivery!.id}/redeliver`, {
        method: 'POST',
      }),
      404,
      'not_found',
    );
    for (const id of [endpoint.id, other.id])
      await server.api(acme.secretKey, `/v1/webhook-endpoints/${id}`, { method: 'DELETE' });
  });

  it('signs with the old and the new secret during a rotation, both verifiable, and with the new one alone after it', async () => {
    const endpoint = await register(acme, '/rotated', ['generation.canceled']);
    const rotate = (graceSeconds: number) =>
      server.api(acme.secretKey, `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { body: { graceSeconds } });
    const first = await rotate(3600);
    expect(first.status).toBe(201);
    const rotated = (await first.json()) as RotatedWebhookSecretBody;
    expect(rotated.secret).not.toBe(endpoint.secret);

    await canceledGeneration(acme);
    await vi.waitFor(() => expect(receiver.at('/rotated')).toHaveLength(1));
    const [during] = receiver.at('/rotated');
    expect(String(during!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(rotated.secret, during!.headers, during!.body)).toEqual({ ok: true, matched: 1 });
    expect(verifyStandardWebhook(endpoint.secret, during!.headers, during!.body)).toEqual({ ok: true, matched: 1 });

    const second = (await (await rotate(0)).json()) as RotatedWebhookSecretBody;
    await canceledGeneration(acme);
    await vi.waitFor(() => expect(receiver.at('/rotated')).toHaveLength(2));
    const after = receiver.at('/rotated')[1]!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyStandardWebhook(second.secret, after.headers, after.body).ok).toBe(true);
    expect(verifyStandardWebhook(rotated.secret, after.headers, after.body).ok).toBe(false);
    await server.api(acme.secretKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  });
});

describe('endpoints', () => {
  it('are created, listed, read, changed and deleted; the secret is shown only when created', async () => {
    const created = await register(globex, '/crud', ['generation.completed', 'generation.failed']);
    expect(created).toMatchObject({ url: receiver.url('/crud'), enabled: true, disabledReason: null, description: '' });
    const path = `/v1/webhook-endpoints/${created.id}`;
    const read = (await (await server.api(globex.secretKey, path)).json()) as WebhookEndpointBody;
    expect(read).not.toHaveProperty('secret');
    expect(read.events).toEqual(['generation.completed', 'generation.failed']);
    const list = (await (await server.api(globex.secretKey, '/v1/webhook-endpoints')).json()) as { data: WebhookEndpointBody[] };
    expect(list.data.map((endpoint) => endpoint.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.secret);

    const patched = await server.api(globex.secretKey, path, {
      method: 'PATCH',
      body: { events: ['generation.canceled'], description: 'orders', enabled: false },
    });
    expect(await patched.json()).toMatchObject({
      events: ['generation.canceled'],
      description: 'orders',
      enabled: false,
      disabledReason: 'disabled_by_tenant',
    });
    expect(await (await server.api(globex.secretKey, path)).json()).toMatchObject({
      events: ['generation.canceled'],
      enabled: false,
    });

    expect((await server.api(globex.secretKey, path, { method: 'DELETE' })).status).toBe(200);
    await expectProblem(await server.api(globex.secretKey, path), 404, 'not_found');
  });

  it.each([
    [{ url: 'ftp://hooks.example.com/x', events: ['generation.completed'] }, 'url', /https/],
    [{ url: 'not a url', events: ['generation.completed'] }, 'url', /absolute URL/],
    [{ url: 'https://user:pw@hooks.example.com/', events: ['generation.completed'] }, 'url', /password/],
    [{ url: 'https://hooks.example.com/', events: ['generation.exploded'] }, 'events.0', /one of generation\.completed/],
    [{ url: 'https://hooks.example.com/', events: [] }, 'events', /at least one/],
    [{ events: ['generation.completed'] }, 'url', /string/],
  ])('refuses %j with a 400 naming %s', async (body, field, message) => {
    const response = await server.api(globex.secretKey, '/v1/webhook-endpoints', { body });
    const problem = await expectProblem(response, 400, 'invalid_request');
    expect(problem.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]),
    );
  });

  it('are not_found to another tenant, whatever it tries, and stay as they were', async () => {
    const own = await register(acme, '/private', ['generation.canceled']);
    await canceledGeneration(acme);
    await vi.waitFor(async () => expect((await deliveries(acme, own.id))[0]?.status).toBe('delivered'));
    const [delivery] = await deliveries(acme, own.id);
    const base = `/v1/webhook-endpoints/${own.id}`;
    const attempts: [string, string, unknown?][] = [
      ['GET', base],
      ['PATCH', base, { url: receiver.url('/stolen') }],
      ['DELETE', base],
      ['POST', `${base}/rotate-secret`, { graceSeconds: 0 }],
      ['GET', `${base}/deliveries`],
      ['POST', `${base}/deliveries/${delivery!.id}/redeliver`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await server.api(globex.secretKey, path, { method, ...(body === undefined ? {} : { body }) });
      const text = await response.clone().text();
      await expectProblem(response, 404, 'not_found');
      expect(text).not.toContain(own.url);
    }
    const list = await (await server.api(globex.secretKey, '/v1/webhook-endpoints')).text();
    expect(list).not.toContain(own.id);
    expect(await (await server.api(acme.secretKey, base)).json()).toMatchObject({ url: receiver.url('/private'), enabled: true });
    expect((await deliveries(acme, own.id))[0]!.attempts).toHaveLength(1);
    await server.api(acme.secretKey, base, { method: 'DELETE' });
  });
});

describe('server-side request forgery', () => {
  const FORBIDDEN = [
    'http://127.0.0.1/hook',
    'http://127.0.0.1:1/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.7/hook',
    'http://192.168.1.1/hook',
    'http://100.64.0.1/hook',
    'http://localhost/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://2130706433/hook',
    'http://0x7f.0.0.1/hook',
    'http://[fd00:ec2::254]/hook',
    'http://0.0.0.0/hook',
  ];

  it.each(FORBIDDEN)('refuses to register %s', async (url) => {
    const response = await server.api(globex.secretKey, '/v1/webhook-endpoints', {
      body: { url, events: ['generation.completed'] },
    });
    const problem = await expectProblem(response, 400, 'invalid_request');
    expect(problem.errors).toEqual([
      {
        field: 'url',
        message: expect.stringMatching(
          /cannot be sent there: .*(loopback|link-local|private|carrier-grade|unspecified|not a global unicast)/,
        ),
      },
    ]);
  });

  it('refuses to move an endpoint there, leaving its URL as it was', async () => {
    const own = await register(globex, '/kept', ['generation.completed']);
    const response = await server.api(globex.secretKey, `/v1/webhook-endpoints/${own.id}`, {
      method: 'PATCH',
      body: { url: 'http://169.254.169.254/latest/meta-data/' },
    });
    await expectProblem(response, 400, 'invalid_request');
    expect(await (await server.api(globex.secretKey, `/v1/webhook-endpoints/${own.id}`)).json()).toMatchObject({
      url: receiver.url('/kept'),
    });
    await server.api(globex.secretKey, `/v1/webhook-endpoints/${own.id}`, { method: 'DELETE' });
  });

  it('refuses at send time, without connecting, what the policy refuses then', async () => {
    const outgoing = new OutgoingHttp({ policy: new AddressPolicy() });
    for (const url of [
      receiver.url('/direct'),
      `http://localhost:${receiver.port}/direct`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/direct`,
    ]) {
      const answer = await outgoing.post(new URL(url), '{}', {});
      expect(answer).toMatchObject({ statusCode: null, error: expect.stringMatching(/^refused: .*loopback/) });
    }
    // The same request with the receiver allowed arrives: the refusals above were the policy's.
    const allowed = new OutgoingHttp({
      policy: new AddressPolicy([{ address: '127.0.0.1', prefix: 32, family: 'ipv4', port: receiver.port }]),
    });
    expect(await allowed.post(new URL(`http://localhost:${receiver.port}/direct`), '{}', {})).toMatchObject({
      statusCode: 200,
      error: null,
      body: 'thanks',
    });
    expect(receiver.at('/direct')).toHaveLength(1);
  });
});

describe('the outbox', () => {
  it('refuses at send time a target the operator no longer allows, and delivers from the stored outbox after a restart that allows it', async () => {
    const later = await startReceiver();
    const retries = { ATELIER_WEBHOOK_RETRY_SCHEDULE: Array(20).fill('200ms').join(',') };
    let instance = await startTestServer({ ...env(later.port), ...retries });
    try {
      const tenant = await instance.createTenant({ name: 'Initech', plan: 'enterprise' });
      const created = await instance.api(tenant.secretKey, '/v1/webhook-endpoints', {
        body: { url: later.url('/later'), events: ['generation.canceled'] },
      });
      const endpoint = (await created.json()) as CreatedWebhookEndpointBody;
      const list = async () =>
        (
          (await (
            await instance.api(tenant.secretKey, `/v1/webhook-endpoints/${endpoint.id}/deliveries`)
          ).json()) as WebhookDeliveryListBody
        ).data;

      // Restarted without the allowance (the URL was fine when registered): nothing is sent.
      instance = await restartTestServer(instance, retries);
      const id = await createGeneration(instance, tenant.secretKey);
      await instance.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' });
      await vi.waitFor(async () => expect((await list())[0]?.attempts.length).toBeGreaterThan(0));
      const [refused] = await list();
      expect(refused!.attempts[0]).toMatchObject({
        statusCode: null,
        error: expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/),
      });
      expect(refused!.status).toBe('pending');
      expect(later.at('/later')).toHaveLength(0);

      // The event waits in the database; a server started with the allowance delivers it.
      instance = await restartTestServer(instance, { ...env(later.port), ...retries });
      await vi.waitFor(async () => expect((await list())[0]?.status).toBe('delivered'));
      const [delivered] = await list();
      expect(delivered!.id).toBe(refused!.id);
      expect(delivered!.attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(delivered!.attempts.slice(0, -1).every((attempt) => attempt.error?.startsWith('refused: '))).toBe(true);
      expect(later.at('/later').map((request) => request.headers['webhook-id'])).toEqual([refused!.id]);
    } finally {
      await instance.stop();
      await later.close();
    }
  });

  it('sends each event once when several server instances work one outbox', async () => {
    const shared = await startReceiver();
    const one = await startTestServer({ ...env(shared.port), ATELIER_WEBHOOK_POLL_MS: '20' });
    const two = await startTestServer(
      { ...env(shared.port), ATELIER_WEBHOOK_POLL_MS: '20' },
      {
        reuse: { mongodbUri: one.mongodbUri, dataDir: one.dataDir },
      },
    );
    try {
      const tenant = await one.createTenant({ name: 'Hooli', plan: 'enterprise' });
      const created = await one.api(tenant.secretKey, '/v1/webhook-endpoints', {
        body: { url: shared.url('/both'), events: ['generation.canceled'] },
      });
      expect(created.status).toBe(201);
      const events = 12;
      for (let i = 0; i < events; i += 1) {
        const via = i % 2 === 0 ? one : two;
        const id = await createGeneration(via, tenant.secretKey);
        await via.api(tenant.secretKey, `/v1/generations/${id}/cancel`, { method: 'POST' });
      }
      await vi.waitFor(
        () => expect(new Set(shared.at('/both').map((request) => request.headers['webhook-id'])).size).toBe(events),
        {
          timeout: 10_000,
        },
      );
      const endpointId = ((await created.json()) as CreatedWebhookEndpointBody).id;
      await vi.waitFor(async () => {
        const log = (
          (await (
            await one.api(tenant.secretKey, `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`)
          ).json()) as WebhookDeliveryListBody
        ).data;
        expect(log.map((delivery) => delivery.status)).toEqual(Array(events).fill('delivered'));
      });
      expect(shared.at('/both')).toHaveLength(events);
    } finally {
      await two.close();
      await one.stop();
      await shared.close();
    }
  });

  it(`prunes finished deliveries and their attempts after ${DELIVERY_LOG_DAYS} days, and nothing younger`, async () => {
    const endpoint = await register(globex, '/pruned', ['generation.canceled']);
    await canceledGeneration(globex);
    await vi.waitFor(async () => expect((await deliveries(globex, endpoint.id))[0]?.status).toBe('delivered'));
    const [delivery] = await deliveries(globex, endpoint.id);
    // A deliverer of its own with a clock of its own; it only prunes.
    const pruner = (now: Date) =>
      new WebhookDeliverer({
        models: server.database.models,
        outgoing: new OutgoingHttp({ policy: new AddressPolicy() }),
        endpoints: server.services.webhookEndpoints,
        schedule: [],
        pollMs: 60_000,
        abandonedAfterMs: 60_000,
        serverId: 'srv_pruner',
        now: () => now,
      });
    expect(await pruner(new Date()).prune()).toBe(0);
    expect(await deliveries(globex, endpoint.id)).toHaveLength(1);

    expect(await pruner(new Date(Date.now() + (DELIVERY_LOG_DAYS + 1) * 86_400_000)).prune()).toBeGreaterThan(0);
    expect(await deliveries(globex, endpoint.id)).toEqual([]);
    const attempts = await runAsSystem('test: attempts left', () =>
      server.database.models.WebhookAttempt.countDocuments({ messageId: delivery!.id }),
    );
    expect(attempts).toBe(0);
  });
});

describe('repair', () => {
  it('writes the event a stopped process left unwritten, once, and the next pass finds nothing more', async () => {
    // A server of its own, its clock moved on below: its first timed repair pass is 30 s
    // away, so this test's passes are the ones that run.
    let ahead = 0;
    const own = await startTestServer(env(receiver.port), { now: () => new Date(Date.now() + ahead) });
    try {
      const tenant = await own.createTenant({ name: 'Repaired', plan: 'enterprise' });
      const created = await own.api(tenant.secretKey, '/v1/webhook-endpoints', {
        body: { url: receiver.url('/repaired'), events: ['generation.canceled'] },
      });
      const endpoint = (await created.json()) as CreatedWebhookEndpointBody;
      const jobId = await createGeneration(own, tenant.secretKey);
      expect((await own.api(tenant.secretKey, `/v1/generations/${jobId}/cancel`, { method: 'POST' })).status).toBe(200);
      await vi.waitFor(() => expect(receiver.at('/repaired')).toHaveLength(1));

      // As if the process had stopped between ending the job and writing its event; a pass
      // leaves a just-finished job to its writer, so half a minute on it is the repair's.
      const { WebhookMessage, WebhookAttempt } = own.database.models;
      await runAsSystem('test: lose the event', async () => {
        const lost = await WebhookMessage.find({ generationId: jobId }).lean();
        expect(lost).toHaveLength(1);
        await WebhookAttempt.deleteMany({ messageId: lost[0]!._id });
        await WebhookMessage.deleteMany({ generationId: jobId });
      });
      expect(await own.services.webhooks.repair()).toBe(0);
      ahead = 30_000;
      expect(await own.services.webhooks.repair()).toBe(1);
      await vi.waitFor(() => expect(receiver.at('/repaired')).toHaveLength(2));
      const [request] = receiver.at('/repaired').slice(1);
      expect(verifyStandardWebhook(endpoint.secret, request!.headers, request!.body).ok).toBe(true);
      expect(JSON.parse(request!.body)).toMatchObject({ type: 'generation.canceled', data: { id: jobId } });
      expect(await own.services.webhooks.repair()).toBe(0);
      const stored = await runAsSystem('test: count events', () => WebhookMessage.countDocuments({ generationId: jobId }));
      expect(stored).toBe(1);
    } finally {
      await own.stop();
    }
  });
});
