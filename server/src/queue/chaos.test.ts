import { setTimeout as sleep } from 'node:timers/promises';
import mongoose from 'mongoose';
import { describe, expect, it, vi } from 'vitest';
import type { BalanceBody, JobStatus } from '@atelier/protocol';
import {
  countChaos,
  postUntilAnswered,
  randomSeed,
  RunnerFleet,
  seededRandom,
  startServerCluster,
  startServerProcess,
  TEST_ADMIN_TOKEN,
  type ClientHistory,
  type LeasedJob,
  type ServerCluster,
} from '@atelier/testing';
import { AuditLog } from '../services/audit-log.js';
import { CreditLedger } from '../services/credit-ledger.js';
import { ReservationSweeper, type SweepReport } from '../services/reservation-sweeper.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

const { trusted } = mongoose;

/** `CHAOS_SEED=<n>` replays a failed run's choices (its failure message names the seed); timing is not replayed. */
const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : randomSeed();
/** Short leases, so that a stalled runner's job comes back within a few seconds. */
const SERVER_ENV = {
  ATELIER_RUNNER_LEASE_MS: '3000',
  ATELIER_RUNNER_HEARTBEAT_MS: '500',
  ATELIER_DISPATCH_POLL_MS: '100',
  ATELIER_INSTANCE_HEARTBEAT_MS: '500',
};
const RUNNERS = 3;
const REQUESTS_PER_TENANT = 10;
/** Requests held back, sent one at a time only should the queue run dry before the chaos is over. */
const RESERVE_PER_TENANT = 3;
/** The tight tenant's plan includes this much, and an operator tops it up once: some of its requests are refused. */
const TIGHT_CREDITS = 8;
const TOP_UP = 5;
/** Requests (and the top-up) sent just before the server is killed. */
const CRASH_REQUESTS = 4;
/**
 * No job ending for this long means the rest are stuck. It is longer than anything that
 * legitimately holds a job up: a lease running out (3 s) and a transition left half-done
 * by the crash, which is rolled forward after 15 s (job-transitions.ts).
 */
const STUCK_AFTER_MS = 30_000;
const CHAOS = ['kill', 'kill', 'kill', 'stall', 'restart'] as const;
const TERMINAL: JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];

/**
 * Jepsen-style: shops' backends send generation requests (each with its own
 * Idempotency-Key, retried through outages) while real runner processes are SIGKILLed at
 * random points of their jobs, one is SIGSTOPped with its socket open until its job has
 * gone to another runner and then let go, and the server process is SIGKILLed the
 * moment a request has stored its job (before it answers) and started again on the same
 * database and port. Afterwards the database must show every acknowledged job ended,
 * none run or charged twice, every reservation closed, and ledgers that add up.
 */
describe('the queue under chaos', () => {
  it(
    'loses, duplicates and double-charges nothing while runners are killed mid-job, one stalls with its socket open, and the server crashes',
    { timeout: 300_000 },
    async () => {
      const random = seededRandom(SEED);
      const started = Date.now();
      const events: string[] = [];
      const note = (event: string) => events.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${event}`);
      let cluster: ServerCluster | undefined;
      let fleet: RunnerFleet | undefined;
      try {
        cluster = await startServerCluster(1, SERVER_ENV);
        const deployment = cluster;
        const server = () => deployment.processes[0]!;
        // Runners and clients keep this URL: the restarted server listens on the same port.
        const url = server().url;
        const { models } = deployment.database;

        await putPlan(url, 'basic', { monthlyCredits: TIGHT_CREDITS });
        const tenants = [
          await deployment.createTenant(server(), { name: 'Roomy A' }),
          await deployment.createTenant(server(), { name: 'Roomy B' }),
          await deployment.createTenant(server(), { name: 'Tight C', plan: 'basic' }),
        ];
        const tight = tenants[2]!;
        const runners = new RunnerFleet({ serverUrl: url, token: await deployment.createRunnerToken(server()), name: 'chaos' });
        fleet = runners;
        for (let i = 0; i < RUNNERS; i += 1) await runners.spawn();
        await runners.connected();

        // Everything random is drawn before the run starts, so that a replay draws the same.
        const requests = random.shuffled(
          tenants.flatMap((tenant, t) =>
            Array.from({ length: REQUESTS_PER_TENANT + RESERVE_PER_TENANT }, (_, i) => ({
              tenant,
              key: `chaos-${SEED}-${t}-${i}`,
              body: { prompt: `a chaos lamp ${t}-${i}`, performance: 'lightning', imageCount: random.next() < 0.75 ? 1 : 2 },
            })),
          ),
        );
        // A third at once, most of the rest paced through the run, and a few just as the server dies.
        const reserve = requests.splice(-RESERVE_PER_TENANT * tenants.length);
        // The crash watches a request of a roomy tenant: credits cannot refuse it, so it surely stores its job.
        const watched = requests.splice(
          requests.findLastIndex((request) => request.tenant !== tight),
          1,
        );
        const atCrash = [...watched, ...requests.splice(1 - CRASH_REQUESTS)];
        const burst = Math.floor(requests.length / 3);
        const gaps = requests.map(() => random.int(50, 450));
        const schedule = random.shuffled(CHAOS);
        const pauses = schedule.map(() => random.int(200, 1_200));
        const points = Array.from({ length: 20 }, () => random.int(0, 500));
        let draws = 0;
        const pointInJob = () => sleep(points[draws++ % points.length]);

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
          return answer.tries;
        };
        const submitting = (async () => {
          await Promise.all(requests.slice(0, burst).map(send));
          const pending: Promise<number>[] = [];
          for (let n = burst; n < requests.length; n += 1) {
            pending.push(send(requests[n]!));
            await sleep(gaps[n]);
          }
          await Promise.all(pending);
        })();

        const midJob = async () => {
          for (;;) {
            try {
              return await runners.midJob((busy) => random.pick(busy), 3_000);
            } catch (error) {
              const more = reserve.shift();
              if (!more) throw error;
              note('no runner busy: one more request');
              await send(more);
            }
          }
        };
        const readJob = async (id: string) =>
          (await runAsSystem('chaos: read job', () => models.Generation.findById(id).lean()))!;

        const kill = async () => {
          for (;;) {
            const { runner, job } = await midJob();
            await pointInJob();
            if (!RunnerFleet.stillOn(runner, job)) continue;
            await runner.kill();
            note(`SIGKILL ${runner.name} on ${job.jobId}#${job.epoch}`);
            await runners.spawn();
            return;
          }
        };

        const stalled: LeasedJob[] = [];
        const stall = async () => {
          for (;;) {
            const { runner, job } = await midJob();
            await pointInJob();
            if (!RunnerFleet.stillOn(runner, job)) continue;
            runner.signal('SIGSTOP');
            // Its socket stays open and it says nothing: the lease runs out and another runner gets the job.
            const moved = await vi.waitFor(
              async () => {
                const now = await readJob(job.jobId);
                if (now.epoch > job.epoch || TERMINAL.includes(now.status)) return now;
                throw new Error(`${job.jobId} is still leased at epoch ${job.epoch}`);
              },
              { timeout: 30_000, interval: 50 },
            );
            runner.signal('SIGCONT');
            if (moved.epoch === job.epoch && moved.status === 'succeeded') {
              note(`SIGSTOP ${runner.name} too late: ${job.jobId}#${job.epoch} had finished`);
              continue;
            }
            // Its overdue heartbeat carries the old epoch and the server answers lease-lost; or, if the
            // stall outlasted two leases, the server has dropped its silent socket. Either way it lets go.
            const how = await RunnerFleet.letGo(runner, job);
            const after = moved.epoch > job.epoch ? `reassigned as #${moved.epoch}` : `ended ${moved.status}`;
            note(`SIGSTOP ${runner.name} on ${job.jobId}#${job.epoch}, ${after}, SIGCONT: ${how}`);
            stalled.push(job);
            return;
          }
        };

        let inFlightAtCrash: Promise<number[]> | undefined;
        const restart = async () => {
          const { job } = await midJob();
          await pointInJob();
          // Requests the crash cuts off half-way; their clients retry them with the same Idempotency-Key.
          inFlightAtCrash = Promise.all([grantOnce(url, tight.tenantId), ...atCrash.map(send)]);
          const prompt = atCrash[0]!.body.prompt;
          await vi.waitFor(
            async () => {
              const stored = await runAsSystem('chaos: watch a request', () =>
                models.Generation.exists({ 'params.prompt': prompt }),
              );
              if (!stored) throw new Error(`the request for "${prompt}" has not stored its job`);
            },
            { timeout: 15_000, interval: 2 },
          );
          await server().kill();
          note(`server SIGKILLed as a request stored its job, while ${job.jobId}#${job.epoch} ran`);
          deployment.processes[0] = await startServerProcess({
            mongodbUri: deployment.mongodbUri,
            dataDir: deployment.dataDir,
            env: SERVER_ENV,
            port: Number(new URL(url).port),
          });
          note('server restarted');
        };

        for (const [i, event] of schedule.entries()) {
          await sleep(pauses[i]);
          await { kill, stall, restart }[event]();
        }
        await submitting;
        const [topUpStatus, ...triesAtCrash] = (await inFlightAtCrash) ?? [0];
        note(`tries of the requests in flight at the crash: ${triesAtCrash.join(', ')}`);

        // Quiet: every acknowledged job ends. However slow the machine, jobs keep ending; one
        // that has not ended once nothing has ended for a while is counted lost.
        const ids = [...history.acknowledged.keys()];
        const countActive = () =>
          runAsSystem('chaos: count active jobs', () =>
            models.Generation.countDocuments({ _id: trusted({ $in: ids }), status: trusted({ $nin: TERMINAL }) }),
          );
        for (let active = await countActive(); active > 0;) {
          const before = active;
          active = await vi
            .waitFor(
              async () => {
                const now = await countActive();
                if (now >= before) throw new Error(`${now} jobs still active`);
                return now;
              },
              { timeout: STUCK_AFTER_MS, interval: 200 },
            )
            .catch(() => 0);
        }
        note('the jobs ended');

        const repaired = await repairReservations(deployment);
        const reported = new Map<string, BalanceBody>();
        for (const tenant of tenants) {
          const response = await fetch(`${url}/v1/balance`, { headers: { Authorization: `Bearer ${tenant.secretKey}` } });
          reported.set(tenant.tenantId, (await response.json()) as BalanceBody);
        }
        const counters = await countChaos(deployment.database, reported, history);
        const staleChanges = await changesUnder(deployment, stalled);
        const grants = await runAsSystem('chaos: count grants', () =>
          models.CreditEntry.countDocuments({ tenantId: tight.tenantId, kind: 'grant' }),
        );

        const jobMs = runners.finishedJobMs().sort((a, b) => a - b);
        const timing = { jobs: jobMs.length, p50: jobMs[Math.floor(jobMs.length / 2)], max: jobMs.at(-1) };
        const report = JSON.stringify({
          seed: SEED,
          ...counters,
          staleChanges,
          grants,
          topUpStatus,
          repaired,
          retries,
          events,
          timing,
        });
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
            // Every acknowledged job succeeded, or failed only because the chaos took all its attempts.
            unaccounted: counters.acknowledged - counters.succeeded - counters.exhausted,
            // Every request was answered: accepted, or refused for want of credits.
            unanswered: counters.attempted - counters.acknowledged - (counters.refused[402] ?? 0),
            // The plan's monthly grant and the top-up retried through the crash, once each.
            grants,
            stalls: stalled.length,
            kills: events.filter((event) => event.includes('SIGKILL chaos')).length,
            someSucceeded: counters.succeeded > 0,
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
          grants: 2,
          stalls: 1,
          kills: CHAOS.filter((event) => event === 'kill').length,
          someSucceeded: true,
        });
      } catch (error) {
        if ((error as Error).message.includes('chaos run:')) throw error;
        throw new Error(`chaos run (seed ${SEED}; ${events.join('; ')}): ${(error as Error).message}`, { cause: error });
      } finally {
        await fleet?.stop();
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
 * The reservation sweeper that the server runs every 30 s with a minute's grace, run
 * once now with none: every job has ended, so a reservation still open was left by the
 * crash between a job's last transition and its ledger entry. The report says how many
 * it repaired; whatever it cannot close counts as orphaned.
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

/**
 * Transitions under a stalled runner's epoch other than its claim and the end the server
 * itself gave the attempt: its lease's expiry, or, when the stall outlasted two leases
 * before the lease sweeper came by, the server dropping the silent socket (a `fail` with
 * `runner_disconnected`, fenced by the lease like any other). The runner's own late
 * messages must change nothing.
 */
async function changesUnder(cluster: ServerCluster, jobs: LeasedJob[]): Promise<number> {
  let changes = 0;
  for (const job of jobs) {
    const transitions = await runAsSystem('chaos: read transitions', () =>
      cluster.database.models.JobTransition.find({ jobId: job.jobId, epoch: job.epoch }).lean(),
    );
    const endedByServer = (transition: (typeof transitions)[number]) =>
      transition.kind === 'expire' || (transition.kind === 'fail' && transition.set.error?.code === 'runner_disconnected');
    changes += transitions.filter((transition) => transition.kind !== 'claim' && !endedByServer(transition)).length;
  }
  return changes;
}
