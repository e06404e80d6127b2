import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../db/connect.js';
import type { Generation, StoredImage } from '../models/generation.model.js';
import type { JobTransition } from '../models/job-transition.model.js';
import { leaseId, type LeaseRecord } from '../models/lease.model.js';
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
import { dropDatabase, freshDatabaseUri } from '@atelier/testing';
import { JobEvents, type JobEventEnvelope } from './job-events.js';
import { JobQueue, type Lease } from './job-queue.js';
import { ROLL_FORWARD_AFTER_MS, transitionId } from './job-transitions.js';
import { QueueEstimator } from './queue-estimator.js';
import { RunnerRegistry } from './runner-registry.js';

const LEASE_MS = 30_000;
const RETRY_DELAY_MS = 60_000;

let uri: string;
let database: Database;
let events: JobEvents;
let queue: JobQueue;
let generations: GenerationService;
let ledger: CreditLedger;
/** The queue's clock runs this far ahead of the wall clock; tests move it instead of sleeping. */
let skewMs = 0;

beforeAll(async () => {
  uri = freshDatabaseUri();
  database = await connectDatabase(uri);
  const { models } = database;
  events = new JobEvents();
  const runners = new RunnerRegistry({ models });
  ledger = new CreditLedger({ models, audit: new AuditLog({ models }) });
  const plans = new PlanService({ models });
  await plans.seed();
  const estimator = new QueueEstimator({ models, runners, plans });
  const presentImages = (tenantId: string, images: StoredImage[]) =>
    images.map((image) => ({
      id: image._id,
      url: `test:${tenantId}/${image._id}`,
      width: image.width,
      height: image.height,
      format: image.format,
    }));
  queue = new JobQueue({
    models,
    events,
    presentImages,
    estimator,
    credits: ledger,
    plans,
    leaseMs: LEASE_MS,
    serverId: 'srv_test',
    retryDelayMs: (attempt) => RETRY_DELAY_MS * attempt,
    now: () => new Date(Date.now() + skewMs),
  });
  const audit = new AuditLog({ models });
  const configs = new TenantConfigService({ models, plans, audit });
  const unusedStorage = new FileStorage(join(tmpdir(), 'atelier-unused-uploads'));
  const unusedUploads = new UploadService({ models, storage: unusedStorage });
  generations = new GenerationService({
    models,
    queue,
    estimator,
    dispatcher: { notify: () => undefined },
    presentImages,
    configs,
    prompts: new PromptScreen({ audit }),
    // These jobs name no uploads, so nothing is ever stored there.
    uploads: unusedUploads,
    inputImages: new InputImages({
      models,
      storage: unusedStorage,
      uploads: unusedUploads,
      products: { fetch: () => Promise.reject(new Error('these jobs name no product photos')) },
    }),
    runners,
    // Nor LoRAs.
    loras: new LoraService({
      models,
      storage: new FileStorage(join(tmpdir(), 'atelier-unused-loras')),
      limits: DEFAULT_LORA_LIMITS,
    }),
    ledger,
    expireUnstarted: (tenantId, jobId) => queue.expireUnstarted(tenantId, jobId),
  });
});

afterEach(async () => {
  skewMs = 0;
  // Each test starts from an empty queue: claims look across every tenant.
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

async function createTenant(id = newId('ten'), plan = 'pro'): Promise<string> {
  await database.models.Tenant.create({ _id: id, name: `Shop ${id}`, plan, origins: [] });
  await runWithTenant(id, () => ledger.grant({ amount: 1_000, reason: 'test', actor: { kind: 'admin' } }));
  return id;
}

async function enqueue(tenantId: string, prompt = 'a lamp'): Promise<string> {
  const { generation } = await runWithTenant(tenantId, () =>
    generations.create({ prompt }, { source: 'api', actor: { kind: 'system' } }),
  );
  return generation._id;
}

const read = (jobId: string) =>
  runAsSystem('test: read job', async () => (await database.models.Generation.findById(jobId).lean()) as Generation);

const readLease = (jobId: string, epoch: number) =>
  runAsSystem(
    'test: read lease',
    async () => (await database.models.Lease.findById(leaseId(jobId, epoch)).lean()) as LeaseRecord,
  );

const history = (jobId: string) =>
  runAsSystem('test: read transitions', () => database.models.JobTransition.find({ jobId }).sort({ rev: 1 }).lean());

function recordEvents(jobId: string): { seen: JobEventEnvelope['event'][]; stop: () => void } {
  const seen: JobEventEnvelope['event'][] = [];
  const stop = events.subscribe(jobId, ({ event }) => seen.push(event));
  return { seen, stop };
}

const image = (index: number): StoredImage => ({
  _id: newId('img'),
  index,
  storageKey: `tenants/x/generations/y/${index}.png`,
  width: 8,
  height: 8,
  format: 'png',
  bytes: 10,
  seed: 1,
});

describe('JobQueue.claimNext', () => {
  it('answers null when nothing is queued', async () => {
    expect(await queue.claimNext('run_idle')).toBeNull();
  });

  it('takes turns between tenants, oldest job first within a tenant', async () => {
    // B's id sorts before A's, so only the waiting time can put A first on the first turn.
    // Both on the same plan (same weight), with room for every job to run at once.
    const a = await createTenant('ten_zzzz_a', 'enterprise');
    const b = await createTenant('ten_aaaa_b', 'enterprise');
    const aJobs: string[] = [];
    for (let i = 0; i < 5; i += 1) aJobs.push(await enqueue(a, `a${i}`));
    const bJob = await enqueue(b, 'b0');

    const leased: Lease[] = [];
    for (let i = 0; i < 6; i += 1) {
      const job = await queue.claimNext(`run_${i}`);
      expect(job).not.toBeNull();
      leased.push(job!);
    }
    expect(leased.map((job) => job.tenantId)).toEqual([a, b, a, a, a, a]);
    expect(leased[1]!.jobId).toBe(bJob);
    // Within A: oldest first (ties in queuedAt broken by id, as the queue sorts).
    const aOrder = await Promise.all(aJobs.map(read));
    aOrder.sort((x, y) => x.queuedAt.getTime() - y.queuedAt.getTime() || x._id.localeCompare(y._id));
    expect(leased.filter((job) => job.tenantId === a).map((job) => job.jobId)).toEqual(aOrder.map((job) => job._id));
    expect(await queue.claimNext('run_late')).toBeNull();
  });

  it('leases a job to a runner with epoch 1 and the resolved params', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant, 'a walnut desk');
    const job = await queue.claimNext('run_one');
    expect(job).toMatchObject({ jobId, tenantId: tenant, epoch: 1, status: 'running', attempts: 1 });
    expect(job!.resolved.prompt).toBe('a walnut desk');
    const stored = await read(jobId);
    expect(stored).toMatchObject({ lease: { runnerId: 'run_one' }, rev: 1 });
    const lease = await readLease(jobId, 1);
    expect(lease).toMatchObject({ jobId, tenantId: tenant, epoch: 1, runnerId: 'run_one', serverId: 'srv_test', endedAt: null });
    expect(lease.expiresAt.getTime()).toBeGreaterThan(Date.now() + LEASE_MS - 5_000);
    expect(await history(jobId)).toMatchObject([
      { _id: transitionId(jobId, 1), kind: 'claim', from: 'queued', epoch: 1, by: { serverId: 'srv_test', runnerId: 'run_one' } },
    ]);
  });

  it('keeps fair-share turns apart from the tenant document', async () => {
    const tenant = await createTenant();
    await enqueue(tenant);
    const before = await database.models.Tenant.findById(tenant).lean();
    const job = (await queue.claimNext('run_one'))!;
    expect(await database.models.TenantTurn.findById(tenant).lean()).toMatchObject({ lastServedAt: job.startedAt });
    expect(await database.models.Tenant.findById(tenant).lean()).toEqual(before);
  });

  it('never leases one job twice when many runners claim at once', async () => {
    const tenants = [await createTenant(), await createTenant(), await createTenant()];
    const jobIds = new Set<string>();
    for (let i = 0; i < 10; i += 1) jobIds.add(await enqueue(tenants[i % 3]!, `job ${i}`));

    const runners = Array.from({ length: 20 }, (_, i) => `run_${i}`);
    const claims = await Promise.all(runners.map((runnerId) => queue.claimNext(runnerId)));
    const won = claims.map((job, i) => ({ job, runnerId: runners[i]! })).filter((claim) => claim.job !== null);

    expect(won).toHaveLength(10);
    expect(new Set(won.map((claim) => claim.job!.jobId))).toEqual(jobIds);
    for (const { job, runnerId } of won) {
      const stored = await read(job!.jobId);
      expect(stored).toMatchObject({ status: 'running', epoch: 1, attempts: 1, rev: 1 });
      expect(stored.lease?.runnerId).toBe(runnerId);
      expect((await history(job!.jobId)).map((transition) => transition.kind)).toEqual(['claim']);
      expect((await readLease(job!.jobId, 1)).runnerId).toBe(runnerId);
    }
    expect(await runAsSystem('test: count leases', () => database.models.Lease.countDocuments())).toBe(10);
    expect(await queue.claimNext('run_extra')).toBeNull();
  });
});

describe('lease fencing', () => {
  it('refuses heartbeat, progress, completion and failure under an old epoch and changes nothing', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const first = (await queue.claimNext('run_a'))!;
    expect(await queue.fail(first, { code: 'inference_failed', message: 'out of memory' })).toBe('requeued');
    skewMs += RETRY_DELAY_MS + 1_000;
    const current = (await queue.claimNext('run_b'))!;
    expect(current.epoch).toBe(first.epoch + 1);

    const before = await read(jobId);
    const leaseBefore = await readLease(jobId, current.epoch);
    const recorder = recordEvents(jobId);
    const old: Lease = { jobId, tenantId: tenant, epoch: first.epoch };
    skewMs += 1_000;
    expect(await queue.heartbeat(old)).toBe('stale');
    expect(await queue.progress(old, { step: 5, steps: 30, stage: 'sampling' }, true)).toBe('stale');
    expect(await queue.complete(old, [image(0)])).toBe('stale');
    expect(await queue.fail(old, { code: 'model_invalid', message: 'late' })).toBe('stale');
    // Another tenant naming the job with the right epoch is just as stale.
    const otherTenant = await createTenant();
    expect(await queue.complete({ jobId, tenantId: otherTenant, epoch: current.epoch }, [image(0)])).toBe('stale');

    const after = await read(jobId);
    expect(after).toMatchObject({ status: 'running', epoch: current.epoch, images: [], progress: before.progress });
    expect(after.lease).toEqual(before.lease);
    expect(await readLease(jobId, current.epoch)).toEqual(leaseBefore);
    expect(recorder.seen).toEqual([]);

    // The current holder is unaffected.
    expect(await queue.heartbeat(current)).toBe('applied');
    expect(await queue.complete(current, [image(0)])).toBe('applied');
    expect(recorder.seen.map((event) => event.type)).toEqual(['completed']);
    expect((await read(jobId)).status).toBe('succeeded');
    recorder.stop();
  });

  it('persists progress and extends the lease for the holder', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const lease = (await queue.claimNext('run_a'))!;
    const recorder = recordEvents(jobId);
    skewMs += 10_000;
    expect(await queue.progress(lease, { step: 3, steps: 30, stage: 'sampling' }, true)).toBe('applied');
    const stored = await readLease(jobId, lease.epoch);
    expect(stored.progress).toEqual({ step: 3, steps: 30, stage: 'sampling' });
    expect(stored.expiresAt.getTime()).toBeGreaterThan(Date.now() + 10_000 + LEASE_MS - 5_000);
    // Not persisting: watchers hear it, the lease keeps the last persisted step.
    expect(await queue.progress(lease, { step: 4, steps: 30, stage: 'sampling' }, false)).toBe('applied');
    expect((await readLease(jobId, lease.epoch)).progress.step).toBe(3);
    expect(recorder.seen).toEqual([
      { type: 'progress', step: 3, steps: 30, stage: 'sampling' },
      { type: 'progress', step: 4, steps: 30, stage: 'sampling' },
    ]);
    // The job document is left alone: only transitions change it.
    expect(await read(jobId)).toMatchObject({ rev: 1, progress: { step: 0, stage: 'loading' } });
    recorder.stop();
  });
});

describe('failures and retries', () => {
  it('requeues a retryable failure with backoff, counts attempts, and fails for good after maxAttempts', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const recorder = recordEvents(jobId);
    const maxAttempts = (await read(jobId)).maxAttempts;
    expect(maxAttempts).toBeGreaterThan(1);

    for (let attempt = 1; attempt < maxAttempts; attempt += 1) {
      const lease = (await queue.claimNext('run_a'))!;
      expect(lease).toMatchObject({ jobId, attempts: attempt, epoch: attempt });
      expect(await queue.fail(lease, { code: 'inference_failed', message: 'device lost' })).toBe('requeued');
      const requeued = await read(jobId);
      expect(requeued).toMatchObject({ status: 'queued', attempts: attempt, lease: null, error: { code: 'inference_failed' } });
      const notBefore = requeued.notBefore.getTime();
      expect(notBefore).toBeGreaterThan(Date.now() + skewMs + RETRY_DELAY_MS * attempt - 5_000);

      // Not before its time, even to an idle runner.
      expect(await queue.claimNext('run_b')).toBeNull();
      skewMs = notBefore - Date.now() + 1;
    }
    const last = (await queue.claimNext('run_a'))!;
    expect(last.attempts).toBe(maxAttempts);
    expect(await queue.fail(last, { code: 'inference_failed', message: 'device lost' })).toBe('failed');
    expect(await read(jobId)).toMatchObject({
      status: 'failed',
      attempts: maxAttempts,
      lease: null,
      error: { code: 'inference_failed', retryable: true },
    });
    expect((await read(jobId)).finishedAt).toBeInstanceOf(Date);

    skewMs += 10 * RETRY_DELAY_MS;
    expect(await queue.claimNext('run_c')).toBeNull();
    // Each claim says the job started (its watchers see it; its tenant's queue moves up).
    expect(recorder.seen.map((event) => event.type)).toEqual([
      ...Array.from({ length: maxAttempts - 1 }, () => ['progress', 'queued']).flat(),
      'progress',
      'failed',
    ]);
    expect((await history(jobId)).map((transition) => `${transition.kind}:${transition.set.status}`)).toEqual(
      Array.from({ length: maxAttempts }, (_, i) => [
        'claim:running',
        i < maxAttempts - 1 ? 'fail:queued' : 'fail:failed',
      ]).flat(),
    );
    recorder.stop();
  });

  it("leases the tenant's younger work while an older job waits out its backoff", async () => {
    const tenant = await createTenant();
    const older = await enqueue(tenant, 'older');
    const lease = (await queue.claimNext('run_a'))!;
    expect(lease.jobId).toBe(older);
    const younger = await enqueue(tenant, 'younger');
    expect(await queue.fail(lease, { code: 'inference_failed', message: 'device lost' })).toBe('requeued');

    expect((await queue.claimNext('run_b'))?.jobId).toBe(younger);
    expect(await queue.claimNext('run_c')).toBeNull();
    skewMs += RETRY_DELAY_MS + 1_000;
    expect((await queue.claimNext('run_c'))?.jobId).toBe(older);
  });

  it('fails at once when the registry says the code is permanent', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const recorder = recordEvents(jobId);
    const lease = (await queue.claimNext('run_a'))!;
    expect(await queue.fail(lease, { code: 'invalid_params', message: 'The prompt cannot be drawn.' })).toBe('failed');
    expect(await read(jobId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'invalid_params', message: 'The prompt cannot be drawn.' },
    });
    expect(recorder.seen).toEqual([
      { type: 'progress', step: 0, steps: lease.progress.steps, stage: 'loading' },
      { type: 'failed', code: 'invalid_params', message: 'The prompt cannot be drawn.' },
    ]);
    skewMs += 10 * RETRY_DELAY_MS;
    expect(await queue.claimNext('run_b')).toBeNull();
    recorder.stop();
  });
});

describe('expired leases', () => {
  it('keeps a heartbeated lease and requeues an expired one; the old holder is then stale', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const lease = (await queue.claimNext('run_a'))!;

    skewMs += LEASE_MS * 0.75;
    expect(await queue.heartbeat(lease)).toBe('applied');
    skewMs += LEASE_MS * 0.75;
    expect(await queue.sweepExpiredLeases()).toBe(0);
    expect((await read(jobId)).status).toBe('running');

    skewMs += LEASE_MS;
    expect(await queue.sweepExpiredLeases()).toBe(1);
    expect(await read(jobId)).toMatchObject({ status: 'queued', lease: null, attempts: 1, error: { code: 'runner_lost' } });
    expect(await queue.complete(lease, [image(0)])).toBe('stale');
    expect(await queue.heartbeat(lease)).toBe('stale');

    // The runner vanished; the job did nothing wrong, so it is runnable again at once.
    const next = (await queue.claimNext('run_b'))!;
    expect(next).toMatchObject({ jobId, epoch: lease.epoch + 1, attempts: 2 });
    expect(await queue.complete(next, [image(0)])).toBe('applied');
    expect(await queue.complete(lease, [image(1)])).toBe('stale');
    const done = await read(jobId);
    expect(done.status).toBe('succeeded');
    expect(done.images).toHaveLength(1);

    // Both leases are over; the sweeper has nothing left to do.
    expect((await readLease(jobId, lease.epoch)).endedAt).toBeInstanceOf(Date);
    expect((await readLease(jobId, next.epoch)).endedAt).toBeInstanceOf(Date);
    skewMs += 10 * LEASE_MS;
    expect(await queue.sweepExpiredLeases()).toBe(0);
    // The transitions are the job's history: each attempt, who ended it, and when.
    const transitions = await history(jobId);
    expect(transitions.map(({ kind, from, epoch, rev }) => ({ kind, from, epoch, rev }))).toEqual([
      { kind: 'claim', from: 'queued', epoch: 1, rev: 1 },
      { kind: 'expire', from: 'running', epoch: 1, rev: 2 },
      { kind: 'claim', from: 'queued', epoch: 2, rev: 3 },
      { kind: 'complete', from: 'running', epoch: 2, rev: 4 },
    ]);
    const times = transitions.map((transition) => transition.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});

describe('a writer that died between recording and applying a transition', () => {
  /** What a server process leaves behind when it dies right after recording a transition. */
  async function recordOnly(jobId: string, tenantId: string, transition: Pick<JobTransition, 'kind' | 'from' | 'set' | 'epoch'>) {
    const rev = transition.set.rev;
    await runWithTenant(tenantId, () =>
      database.models.JobTransition.create({
        _id: transitionId(jobId, rev),
        jobId,
        rev,
        ...transition,
        by: { serverId: 'srv_dead', runnerId: null },
        at: new Date(Date.now() + skewMs),
      }),
    );
  }

  it('leaves a fresh transition to its writer and rolls an old one forward, publishing its event once', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const recorder = recordEvents(jobId);
    const error = { code: 'canceled' as const, message: 'The generation was cancelled.', retryable: false };
    await recordOnly(jobId, tenant, {
      kind: 'cancel',
      from: 'queued',
      epoch: 0,
      set: { status: 'canceled', lease: null, error, finishedAt: new Date(Date.now() + skewMs), rev: 1 },
    });

    // Its writer may still be applying it: a claim leaves the job alone.
    expect(await queue.claimNext('run_a')).toBeNull();
    expect(await read(jobId)).toMatchObject({ status: 'queued', rev: 0 });
    expect(recorder.seen).toEqual([]);

    skewMs += ROLL_FORWARD_AFTER_MS + 1_000;
    expect(await queue.claimNext('run_a')).toBeNull();
    expect(await read(jobId)).toMatchObject({ status: 'canceled', rev: 1, error });
    expect(recorder.seen).toEqual([{ type: 'failed', code: 'canceled', message: error.message }]);
    expect((await history(jobId)).map((transition) => transition.kind)).toEqual(['cancel']);
    recorder.stop();
  });

  it('gives a rolled-forward claim an expired lease, so that the sweeper requeues the job', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const { progress } = await read(jobId);
    const startedAt = new Date(Date.now() + skewMs);
    await recordOnly(jobId, tenant, {
      kind: 'claim',
      from: 'queued',
      epoch: 1,
      set: {
        status: 'running',
        epoch: 1,
        attempts: 1,
        lease: { runnerId: 'run_dead' },
        startedAt,
        progress: { ...progress, stage: 'loading' },
        rev: 1,
      },
    });
    skewMs += ROLL_FORWARD_AFTER_MS + 1_000;

    expect(await queue.claimNext('run_b')).toBeNull();
    expect(await read(jobId)).toMatchObject({ status: 'running', epoch: 1, lease: { runnerId: 'run_dead' }, rev: 1 });
    expect((await readLease(jobId, 1)).expiresAt.getTime()).toBeLessThan(Date.now());

    expect(await queue.sweepExpiredLeases()).toBe(1);
    expect(await read(jobId)).toMatchObject({ status: 'queued', error: { code: 'runner_lost' }, rev: 2 });
    expect(await queue.claimNext('run_b')).toMatchObject({ jobId, epoch: 2, attempts: 2 });
  });
});

describe('JobQueue.cancel', () => {
  it('cancels a queued job, which is then never leased', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const recorder = recordEvents(jobId);
    expect(await runWithTenant(tenant, () => queue.cancel(jobId))).toEqual({ canceled: true });
    expect(await read(jobId)).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
    expect(recorder.seen).toEqual([{ type: 'failed', code: 'canceled', message: expect.any(String) }]);
    expect(await queue.claimNext('run_a')).toBeNull();
    expect(await runWithTenant(tenant, () => queue.cancel(jobId))).toEqual({ canceled: false });
    recorder.stop();
  });

  it("cancels a running job, hands back its lease, and fences the runner's later reports", async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const lease = (await queue.claimNext('run_a'))!;
    expect(await runWithTenant(tenant, () => queue.cancel(jobId))).toEqual({
      canceled: true,
      lease: { runnerId: 'run_a', epoch: lease.epoch },
    });
    expect(await queue.complete(lease, [image(0)])).toBe('stale');
    expect(await queue.fail(lease, { code: 'inference_failed', message: 'x' })).toBe('stale');
    expect(await read(jobId)).toMatchObject({ status: 'canceled', lease: null, images: [] });
  });

  it('never lets a claim racing a cancel bring a cancelled job back to life', async () => {
    const tenant = await createTenant();
    const jobIds: string[] = [];
    for (let i = 0; i < 10; i += 1) jobIds.push(await enqueue(tenant, `job ${i}`));

    const [cancels] = await Promise.all([
      Promise.all(jobIds.map((jobId) => runWithTenant(tenant, () => queue.cancel(jobId)))),
      Promise.all(jobIds.map((_, i) => queue.claimNext(`run_${i}`))),
    ]);
    expect(cancels.every((result) => result.canceled)).toBe(true);
    for (const jobId of jobIds) expect((await read(jobId)).status).toBe('canceled');
    expect(await queue.claimNext('run_late')).toBeNull();
  });

  it('never lets heartbeats and progress racing a cancel bring the job back', async () => {
    const tenant = await createTenant();
    const jobId = await enqueue(tenant);
    const lease = (await queue.claimNext('run_a'))!;
    const reports = Array.from({ length: 10 }, (_, step) => [
      queue.heartbeat(lease),
      queue.progress(lease, { step, steps: 30, stage: 'sampling' }, true),
    ]).flat();
    const [cancel] = await Promise.all([runWithTenant(tenant, () => queue.cancel(jobId)), ...reports]);
    expect(cancel).toEqual({ canceled: true, lease: { runnerId: 'run_a', epoch: lease.epoch } });
    expect(await read(jobId)).toMatchObject({ status: 'canceled', rev: 2 });
    // After the cancel, every report is stale.
    expect(await queue.heartbeat(lease)).toBe('stale');
    expect(await queue.progress(lease, { step: 11, steps: 30, stage: 'sampling' }, true)).toBe('stale');
    expect((await history(jobId)).map((transition) => transition.kind)).toEqual(['claim', 'cancel']);
  });

  it("cannot cancel another tenant's job", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const jobId = await enqueue(owner);
    expect(await runWithTenant(stranger, () => queue.cancel(jobId))).toEqual({ canceled: false });
    expect((await read(jobId)).status).toBe('queued');
  });
});
