import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import type { PlanName } from '@atelier/protocol';
import { connectDatabase, type Database } from '../db/connect.js';
import type { StoredImage } from '../models/generation.model.js';
import { AuditLog } from '../services/audit-log.js';
import { PromptScreen } from '../services/content-policy/prompt-screen.js';
import { CreditLedger } from '../services/credit-ledger.js';
import { GenerationService } from '../services/generation-service.js';
import { newId } from '../services/ids.js';
import { PlanService } from '../services/plans.js';
import { TenantConfigService } from '../services/tenant-config.js';
import { DEFAULT_LORA_LIMITS, LoraService } from '../services/lora-service.js';
import { InputImages } from '../services/input-images.js';
import { UploadService } from '../services/upload-service.js';
import { FileStorage } from '../storage/file-storage.js';
import { runAsSystem, runWithTenant } from '../tenancy/tenant-context.js';
import { JobEvents } from './job-events.js';
import { JobQueue, type Lease } from './job-queue.js';
import { QueueEstimator } from './queue-estimator.js';
import { RunnerRegistry } from './runner-registry.js';

let uri: string;
let database: Database;
let queue: JobQueue;
let generations: GenerationService;
let ledger: CreditLedger;

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  const { models } = database;
  const runners = new RunnerRegistry({ models });
  const audit = new AuditLog({ models });
  ledger = new CreditLedger({ models, audit });
  const plans = new PlanService({ models });
  await plans.seed();
  const estimator = new QueueEstimator({ models, runners, plans });
  const presentImages = () => [];
  queue = new JobQueue({
    models,
    events: new JobEvents(),
    presentImages,
    estimator,
    credits: ledger,
    plans,
    leaseMs: 30_000,
    serverId: 'srv_test',
  });
  const unusedStorage = new FileStorage(join(tmpdir(), 'atelier-unused-uploads'));
  const unusedUploads = new UploadService({ models, storage: unusedStorage });
  generations = new GenerationService({
    models,
    queue,
    estimator,
    dispatcher: { notify: () => undefined },
    presentImages,
    configs: new TenantConfigService({ models, plans, audit }),
    prompts: new PromptScreen({ audit }),
    ledger,
    expireUnstarted: (tenantId, jobId) => queue.expireUnstarted(tenantId, jobId),
    runners,
    // These jobs name no uploads and no LoRAs, so nothing is ever stored there.
    uploads: unusedUploads,
    inputImages: new InputImages({
      models,
      storage: unusedStorage,
      uploads: unusedUploads,
      products: { fetch: () => Promise.reject(new Error('these jobs name no product photos')) },
    }),
    loras: new LoraService({
      models,
      storage: new FileStorage(join(tmpdir(), 'atelier-unused-loras')),
      limits: DEFAULT_LORA_LIMITS,
    }),
  });
});

afterEach(async () => {
  const { Generation: Jobs, JobTransition, Lease: Leases, Tenant, TenantTurn } = database.models;
  await runAsSystem('test: empty the queue', () =>
    Promise.all([Jobs.deleteMany({}), JobTransition.deleteMany({}), Leases.deleteMany({})]),
  );
  await Promise.all([Tenant.deleteMany({}), TenantTurn.deleteMany({})]);
});

afterAll(async () => {
  await database.close();
  await dropDatabase(uri);
});

async function createTenant(plan: PlanName): Promise<string> {
  const id = newId('ten');
  await database.models.Tenant.create({ _id: id, name: `Shop ${id}`, plan, origins: [] });
  await runWithTenant(id, () => ledger.grant({ amount: 10_000, reason: 'test', actor: { kind: 'admin' } }));
  return id;
}

/**
 * Queues `count` jobs: the first through the service, the rest as copies of it stored
 * directly (this file is about dispatch; accepting 200 requests one by one would only
 * slow it down). Oldest first in the returned order.
 */
async function enqueue(tenantId: string, count: number): Promise<string[]> {
  const { generation } = await runWithTenant(tenantId, () =>
    generations.create({ prompt: 'job 0', performance: 'speed' }, { source: 'api', actor: { kind: 'system' } }),
  );
  const { _id, tenantId: _tenant, createdAt: _created, updatedAt: _updated, ...job } = generation;
  const base = generation.queuedAt.getTime();
  const copies = Array.from({ length: count - 1 }, (_, i) => ({
    ...job,
    _id: newId('gen'),
    queuedAt: new Date(base + i + 1),
    notBefore: new Date(base + i + 1),
  }));
  if (copies.length > 0) await runWithTenant(tenantId, () => database.models.Generation.insertMany(copies));
  return [_id, ...copies.map((copy) => copy._id)];
}

const image: StoredImage = {
  _id: 'img_x',
  index: 0,
  storageKey: 'k',
  width: 8,
  height: 8,
  format: 'png',
  bytes: 1,
  seed: 1,
};

/** One runner: claims the next job and finishes it, `count` times; answers whose jobs it ran. */
async function runJobs(count: number): Promise<Lease[]> {
  const ran: Lease[] = [];
  for (let i = 0; i < count; i += 1) {
    const job = await queue.claimNext('run_one');
    if (!job) break;
    ran.push(job);
    expect(await queue.complete(job, [{ ...image, _id: newId('img') }])).toBe('applied');
  }
  return ran;
}

describe('weighted fair share', () => {
  it("starts a light tenant's single job next while a heavier tenant floods the queue with 200", async () => {
    const flooder = await createTenant('enterprise');
    const light = await createTenant('free');
    await enqueue(flooder, 200);
    expect((await runJobs(5)).every((job) => job.tenantId === flooder)).toBe(true);
    const [lightJob] = await enqueue(light, 1);
    // The flooder's job that was running when the light tenant queued is done: the very next start is the light job.
    const [next] = await runJobs(1);
    expect(next).toMatchObject({ tenantId: light, jobId: lightJob });
  });

  it('serves backlogged tenants in proportion to their plans’ queuePriority', async () => {
    const pro = await createTenant('pro'); // queuePriority 4
    const basic = await createTenant('basic'); // queuePriority 2
    await enqueue(pro, 25);
    await enqueue(basic, 25);
    const ran = await runJobs(30);
    const served = (tenantId: string) => ran.filter((job) => job.tenantId === tenantId).length;
    expect(Math.abs(served(pro) - 20)).toBeLessThanOrEqual(1);
    expect(Math.abs(served(basic) - 10)).toBeLessThanOrEqual(1);
  });

  it("holds a tenant at its plan's concurrentJobs and gives the next runner another tenant's work", async () => {
    const free = await createTenant('free'); // concurrentJobs 1
    const pro = await createTenant('pro');
    await enqueue(free, 3);
    const [proJob] = await enqueue(pro, 1);
    const first = await queue.claimNext('run_1');
    expect(first?.tenantId).toBe(free);
    expect(await queue.claimNext('run_2')).toMatchObject({ tenantId: pro, jobId: proJob });
    expect(await queue.claimNext('run_3')).toBeNull();
    await queue.complete(first!, []);
    expect((await queue.claimNext('run_3'))?.tenantId).toBe(free);
  });

  it('takes a higher-priority job of a tenant before its older ones', async () => {
    const tenant = await createTenant('pro');
    const [, , urgent] = await enqueue(tenant, 3);
    await runWithTenant(tenant, () => database.models.Generation.updateOne({ _id: urgent }, { $set: { priority: 5 } }));
    expect((await queue.claimNext('run_1'))?.jobId).toBe(urgent);
  });
});
