import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';
import { describe, expect, it, vi } from 'vitest';
import type { BalanceBody, JobStatus } from '@atelier/protocol';
import {
  countChaos,
  postUntilAnswered,
  randomSeed,
  seededRandom,
  startRunnerProcess,
  startServerCluster,
  startServerProcess,
  TEST_ADMIN_TOKEN,
  type ClientHistory,
  type RunnerProcess,
  type ServerCluster,
} from '@atelier/testing';
import { AuditLog } from '../services/audit-log.js';
import { CreditLedger } from '../services/credit-ledger.js';
import { ReservationSweeper, type SweepReport } from '../services/reservation-sweeper.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

/** `CHAOS_SEED=<n>` replays a failed run's choices (the failure message names its seed). */
const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomSeed();
/** Short leases, so that a stalled runner's job comes back within a few seconds. */
const SERVER_ENV = {
  ATELIER_RUNNER_LEASE_MS: '3000',
  ATELIER_RUNNER_HEARTBEAT_MS: '500',
  ATELIER_DISPATCH_POLL_MS: '100',
  ATELIER_INSTANCE_HEARTBEAT_MS: '500',
};
const RUNNERS = 3;
const REQUESTS_PER_TENANT = 12;
/** The tight tenant's plan includes this much, and it is topped up once mid-run: some of its requests are refused. */
const TIGHT_CREDITS = 8;
/** Requests (and the top-up) sent just before the server is killed. */
const CRASH_REQUESTS = 4;
const TOP_UP = 5;
const CHAOS = ['kill', 'kill', 'kill', 'stall', 'restart'] as const;
const TERMINAL: JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];

interface LeasedJob {
  jobId: string;
  epoch: number;
}

describe('the queue under chaos', () => {
  it(
    'loses, duplicates and double-charges nothing while runners are killed mid-job, one stalls with its socket open, and the server crashes',
    { timeout: 180_000 },
    async () => {
      const random = seededRandom(SEED);
      const events: string[] = [];
      const runners: RunnerProcess[] = [];
      let cluster: ServerCluster | undefined;
      try {
        cluster = await startServerCluster(1, SERVER_ENV);
        const deployment = cluster;
        const url = deployment.processes[0]!.url;
        const port = Number(new URL(url).port);
        const { models } = deployment.database;
        const readJob = async (id: string) =>
          (await runAsSystem('chaos: read job', () => models.Generation.findById(id).lean()))!;

        await putPlan(url, 'basic', { monthlyCredits: TIGHT_CREDITS });
        const tenants = [
          await deployment.createTenant(deployment.processes[0]!, { name: 'Roomy A' }),
          await deployment.createTenant(deployment.processes[0]!, { name: 'Roomy B' }),
          await deployment.createTenant(deployment.processes[0]!, { name: 'Tight C', plan: 'basic' }),
        ];
        const tight = tenants[2]!;
        const token = await deployment.createRunnerToken(deployment.processes[0]!);
        const spawnRunner = async () => {
          const runner = await startRunnerProcess({ serverUrl: url, token, name: `chaos-runner-${runners.length}` });
          runners.push(runner);
          return runner;
        };
        for (let i = 0; i < RUNNERS; i += 1) await spawnRunner();
        await Promise.all(runners.map((runner) => runner.logged((line) => line.msg === 'connected to server', 60_000)));

        // Everything random is drawn from the seed before the run starts, so that a replay draws the same.
        const requests = random.shuffled(
          tenants.flatMap((tenant, t) =>
            Array.from({ length: REQUESTS_PER_TENANT }, (_, i) => ({
              tenant,
              key: `chaos-${SEED}-${t}-${i}`,
              body: { prompt: `a chaos lamp ${t}-${i}`, performance: 'lightning', imageCount: random.next() < 0.7 ? 1 : 2 },
            })),
          ),
        );
        // A third at once, most of the rest paced through the run, and a few (with the top-up) just as the server dies.
        const atCrash = requests.splice(-CRASH_REQUESTS);
        const burst = Math.floor(requests.length / 3);
        const gaps = requests.map(() => random.int(50, 450));
        const crashAfter = random.int(0, 60);
        const schedule = random.shuffled(CHAOS);
        const pauses = schedule.map(() => random.int(200, 1_200));
        const points = Array.from({ length: 20 }, () => random.int(0, 500));
        const pointAt = (n: number) => points[n % points.length]!;

        const history: ClientHistory = { attempted: 0, acknowledged: new Map(), refused: {}, indeterminate: 0 };
        let retries = 0;
        const send = async (request: (typeof requests)[number]) => {
          history.attempted += 1;
          const answer = await postUntilAnswered({
            url: `${url}/v1/generations`,
            authorization: `Bearer ${request.tenant.secretKey}`,
            idempotencyKey: request.key,
            body: request.body,
          });
          retries += answer.tries - 1;
          if (answer.kind === 'indeterminate') history.indeterminate += 1;
          else if (answer.status === 202) history.acknowledged.set((answer.body as { id: string }).id, request.tenant.tenantId);
          else history.refused[answer.status] = (history.refused[answer.status] ?? 0) + 1;
        };
        const submitting = (async () => {
          await Promise.all(requests.slice(0, burst).map(send));
          const pending: Promise<void>[] = [];
          for (let n = burst; n < requests.length; n += 1) {
            pending.push(send(requests[n]!));
            await sleep(gaps[n]!);
          }
          await Promise.all(pending);
        })();
        let inFlightAtCrash: Promise<[number, ...void[]]> | undefined;

        // Chaos: each event waits for a runner in the middle of a job, then strikes at a random point of it.
        let draws = 0;
        const midJob = () =>
          vi.waitFor(
            () => {
              const busy = runners.filter((runner) => runner.alive() && runner.current());
              if (busy.length === 0) throw new Error('no runner is in the middle of a job');
              const runner = random.pick(busy);
              return { runner, job: runner.current()! };
            },
            { timeout: 30_000, interval: 20 },
          );
        const stillOn = (runner: RunnerProcess, job: LeasedJob) =>
          runner.current()?.jobId === job.jobId && runner.current()?.epoch === job.epoch;

        const kill = async () => {
          for (;;) {
            const { runner, job } = await midJob();
            await sleep(pointAt(draws++));
            if (!stillOn(runner, job)) continue;
            await runner.kill();
            events.push(`SIGKILL ${runner.name} on ${job.jobId}#${job.epoch}`);
            await spawnRunner();
            return;
          }
        };

        const stalled: { runner: RunnerProcess; job: LeasedJob }[] = [];
        const stall = async () => {
          for (;;) {
            const { runner, job } = await midJob();
            await sleep(pointAt(draws++));
            if (!stillOn(runner, job)) continue;
            runner.signal('SIGSTOP');
            // Its socket stays open and says nothing: the lease runs out and the job goes to another runner.
            const moved = await vi.waitFor(
              async () => {
                const now = await readJob(job.jobId);
                if (now.epoch > job.epoch || TERMINAL.includes(now.status)) return now;
                throw new Error(`${job.jobId} is still leased at epoch ${job.epoch}`);
              },
              { timeout: 30_000, interval: 50 },
            );
            if (moved.epoch === job.epoch && moved.status === 'succeeded') {
              // It finished the job just before the stop landed: stall another one.
              runner.signal('SIGCONT');
              events.push(`SIGSTOP ${runner.name} too late for ${job.jobId}#${job.epoch}`);
              continue;
            }
            runner.signal('SIGCONT');
            // Its late heartbeat and progress carry the old epoch: the server answers lease-lost.
            await runner.logged((line) => line.msg === 'abandoning job' && line.jobId === job.jobId && line.reason === 'lease-lost');
            events.push(`SIGSTOP ${runner.name} on ${job.jobId}#${job.epoch}, reassigned at #${moved.epoch}, SIGCONT`);
            stalled.push({ runner, job });
            return;
          }
        };

        const restart = async () => {
          const { job } = await midJob();
          await sleep(pointAt(draws++));
          // Requests the crash cuts off half-way: their clients retry them with the same Idempotency-Key.
          inFlightAtCrash = Promise.all([grantOnce(url, tight.tenantId), ...atCrash.map(send)]);
          await sleep(crashAfter);
          await deployment.processes[0]!.kill();
          deployment.processes[0] = await startServerProcess({
            mongodbUri: deployment.mongodbUri,
            dataDir: deployment.dataDir,
            env: SERVER_ENV,
            port,
          });
          events.push(`server SIGKILLed while ${job.jobId}#${job.epoch} ran, restarted`);
        };

        for (const [i, event] of schedule.entries()) {
          await sleep(pauses[i]!);
          await { kill, stall, restart }[event]();
        }
        await submitting;
        const [topUpStatus] = (await inFlightAtCrash) ?? [0];

        // Quiet: every acknowledged job ends (one that does not is counted lost).
        const ids = [...history.acknowledged.keys()];
        await vi
          .waitFor(
            async () => {
              const active = await runAsSystem('chaos: count active', () =>
                models.Generation.countDocuments({ _id: trusted({ $in: ids }), status: trusted({ $nin: TERMINAL }) }),
              );
              if (active > 0) throw new Error(`${active} jobs still active`);
            },
            { timeout: 60_000, interval: 200 },
          )
          .catch(() => undefined);

        // What the server's own repair does a minute after a crash, done now: close what the crash left open.
        const repaired = await repairReservations(deployment);
        const reported = new Map<string, BalanceBody>();
        for (const tenant of tenants) {
          const response = await fetch(`${url}/v1/balance`, { headers: { Authorization: `Bearer ${tenant.secretKey}` } });
          reported.set(tenant.tenantId, (await response.json()) as BalanceBody);
        }
        const counters = await countChaos(deployment.database, reported, history);
        const staleChanges = await changesUnder(deployment, stalled.map(({ job }) => job));
        const topUps = await runAsSystem('chaos: read grants', () =>
          models.CreditEntry.countDocuments({ tenantId: tight.tenantId, kind: 'grant' }),
        );

        const report = JSON.stringify({ seed: SEED, ...counters, staleChanges, topUps, topUpStatus, repaired, retries, events });
        expect(
          {
            lost: counters.lost,
            phantoms: counters.phantoms,
            duplicatedResults: counters.duplicatedResults,
            incompleteResults: counters.incompleteResults,
            doubleCharges: counters.doubleCharges,
            wrongCharges: counters.wrongCharges,
            orphanedReservations: counters.orphanedReservations,
            ledgerMismatches: counters.ledgerMismatches,
            wrongEnd: counters.wrongEnd,
            indeterminate: counters.indeterminate,
            staleChanges,
            // Every acknowledged job succeeded, or failed only because chaos took all its attempts.
            unaccounted: counters.acknowledged - counters.succeeded - counters.exhausted,
            // Every request answered: accepted, or refused for want of credits.
            unanswered: counters.attempted - counters.acknowledged - (counters.refused[402] ?? 0),
            // The mid-run top-up, retried through the crash, granted once (the plan's monthly grant is the other).
            topUps,
            stalls: stalled.length,
            kills: events.filter((event) => event.startsWith('SIGKILL')).length,
          },
          `chaos run: ${report}`,
        ).toEqual({
          lost: 0,
          phantoms: 0,
          duplicatedResults: 0,
          incompleteResults: 0,
          doubleCharges: 0,
          wrongCharges: 0,
          orphanedReservations: 0,
          ledgerMismatches: 0,
          wrongEnd: 0,
          indeterminate: 0,
          staleChanges: 0,
          unaccounted: 0,
          unanswered: 0,
          topUps: 2,
          stalls: 1,
          kills: CHAOS.filter((event) => event === 'kill').length,
        });
        expect(counters.succeeded, `chaos run: ${report}`).toBeGreaterThan(0);
      } catch (error) {
        if ((error as Error).message.includes('chaos run:')) throw error;
        throw new Error(`chaos run (seed ${SEED}; ${events.join('; ')}): ${(error as Error).message}`, { cause: error });
      } finally {
        await Promise.all(runners.map((runner) => runner.stop()));
        await cluster?.stop();
      }
    },
  );
});

async function putPlan(url: string, name: string, changes: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${url}/admin/v1/plans/${name}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(changes),
  });
  if (response.status !== 200) throw new Error(`PUT plan ${name}: ${response.status} ${await response.text()}`);
}

/** An operator's top-up, retried with its Idempotency-Key until answered; resolves with the status. */
async function grantOnce(url: string, tenantId: string): Promise<number> {
  const answer = await postUntilAnswered({
    url: `${url}/admin/v1/tenants/${tenantId}/credits`,
    authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
    idempotencyKey: `chaos-top-up-${SEED}`,
    body: { amount: TOP_UP, reason: 'chaos top-up' },
  });
  return answer.kind === 'answered' ? answer.status : 0;
}

/**
 * The reservation sweeper the server runs every 30 s with a minute's grace, run once
 * now with none: every job has ended, so whatever reservation is still open was left by
 * the crash between a job's last transition and its ledger entry.
 */
async function repairReservations(cluster: ServerCluster): Promise<SweepReport> {
  const { models } = cluster.database;
  return new ReservationSweeper({
    models,
    ledger: new CreditLedger({ models, audit: new AuditLog({ models }) }),
    expireUnstarted: (_tenantId, jobId) => {
      throw new Error(`${jobId} was stored after its reservation was handed back`);
    },
    orphanAfterMs: 0,
  }).sweep();
}

/** Transitions applied under a stalled runner's epoch after its lease expired: its late messages must change nothing. */
async function changesUnder(cluster: ServerCluster, jobs: LeasedJob[]): Promise<number> {
  let changes = 0;
  for (const job of jobs) {
    const transitions = await runAsSystem('chaos: read transitions', () =>
      cluster.database.models.JobTransition.find({ jobId: job.jobId, epoch: job.epoch }).lean(),
    );
    changes += transitions.filter((transition) => transition.kind !== 'claim' && transition.kind !== 'expire').length;
  }
  return changes;
}
