import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanBody, Performance } from '@atelier/protocol';

type Plan = Omit<PlanBody, 'updatedAt'>;
import { adminRequest, restartTestServer, startTestServer, type TestServer } from '@atelier/testing';

/**
 * Plans are data an operator edits, seeded on first start (issue 6, "Plans"): a fresh
 * deployment has the four plans of server/docs/operators.md's table, and a restart never
 * puts back what the operator changed.
 */

const ALL_PRESETS: Performance[] = ['quality', 'speed', 'extreme-speed', 'lightning'];

/** operators.md's table, as the API answers it. */
const DOCUMENTED: Plan[] = [
  {
    name: 'free',
    monthlyCredits: 10,
    presets: ['speed', 'extreme-speed', 'lightning'],
    requestsPerMinute: 10,
    concurrentJobs: 1,
    maxImagesPerRequest: 1,
    maxPixels: 1024 * 1024,
    forcedWatermark: true,
    queuePriority: 1,
  },
  {
    name: 'basic',
    monthlyCredits: 500,
    presets: ALL_PRESETS,
    requestsPerMinute: 60,
    concurrentJobs: 2,
    maxImagesPerRequest: 2,
    maxPixels: 1536 * 1536,
    forcedWatermark: false,
    queuePriority: 2,
  },
  {
    name: 'pro',
    monthlyCredits: 2000,
    presets: ALL_PRESETS,
    requestsPerMinute: 120,
    concurrentJobs: 4,
    maxImagesPerRequest: 4,
    maxPixels: 2048 * 2048,
    forcedWatermark: false,
    queuePriority: 4,
  },
  {
    name: 'enterprise',
    monthlyCredits: 20000,
    presets: ALL_PRESETS,
    requestsPerMinute: 600,
    concurrentJobs: 16,
    maxImagesPerRequest: 4,
    maxPixels: 4096 * 4096,
    forcedWatermark: false,
    queuePriority: 8,
  },
];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(() => server.stop());

/** Presets in a fixed order: the set is what counts. */
const sorted = (list: Plan[]) => list.map((plan) => ({ ...plan, presets: [...plan.presets].sort() }));

async function plans(): Promise<Plan[]> {
  const response = await adminRequest(server.url, 'GET', '/admin/v1/plans');
  expect(response.status).toBe(200);
  const { data } = (await response.json()) as { data: PlanBody[] };
  return sorted(data.map(({ updatedAt: _updatedAt, ...plan }) => plan));
}

describe('plans, seeded on first start', () => {
  it("are the four plans of the operator's page, with every limit it documents", async () => {
    expect(await plans()).toEqual(sorted(DOCUMENTED));
  });

  it("keep the operator's changes across a restart: seeding adds only what is absent", async () => {
    const changed = await adminRequest(server.url, 'PUT', '/admin/v1/plans/basic', {
      requestsPerMinute: 90,
      monthlyCredits: 800,
    });
    expect(changed.status).toBe(200);

    server = await restartTestServer(server);
    const expected = sorted(DOCUMENTED).map((plan) =>
      plan.name === 'basic' ? { ...plan, requestsPerMinute: 90, monthlyCredits: 800 } : plan,
    );
    expect(await plans()).toEqual(expected);
  });
});
