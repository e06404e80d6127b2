import mongoose from 'mongoose';
import { vi } from 'vitest';
import { runAsSystem } from '@atelier/server';
import { startInstantRunner, type ScriptedRunner } from './scripted-runner.js';
import { pngBytes } from './protocol-clients.js';
import { startServerCluster } from './server-process.js';

const { trusted } = mongoose;

export interface ClaimsScenario {
  processes: number;
  runnersPerProcess: number;
  tenants: number;
  jobs: number;
}

/** What the scenario counted; a test asserts on it, `npm run bench:claims` prints it. */
export interface ClaimsFigures {
  processes: number;
  runners: number;
  tenants: number;
  jobs: number;
  succeeded: number;
  /** Lease documents (one per claim won). */
  leases: number;
  claimTransitions: number;
  completeTransitions: number;
  /** `job` messages the runners received. */
  deliveries: number;
  /** Jobs leased, delivered or completed more than once, or delivered to more than one runner. */
  duplicates: { leases: number; claims: number; completions: number; deliveries: number };
  /** From the first job created to the last one stored as succeeded. */
  wallMs: number;
}

/**
 * Several server processes on one database, several instant runners on each, and many
 * jobs of several tenants created through REST on every process: half before the
 * runners say ready (so that every dispatcher races for the same oldest jobs), half
 * while they work. Counts, from the database and from what the runners received, how
 * often each job was leased, delivered and completed.
 */
export async function runClaimsScenario(scenario: ClaimsScenario): Promise<ClaimsFigures> {
  const cluster = await startServerCluster(scenario.processes);
  const runners: ScriptedRunner[] = [];
  try {
    const { processes, database } = cluster;
    const token = await cluster.createRunnerToken(processes[0]!);
    const tenants = await Promise.all(
      Array.from({ length: scenario.tenants }, (_, i) =>
        cluster.createTenant(processes[i % processes.length]!, { name: `Shop ${i}` }),
      ),
    );
    const ids: string[] = [];
    const create = async (n: number) => {
      const via = processes[n % processes.length]!;
      const tenant = tenants[n % tenants.length]!;
      const response = await via.api(tenant.secretKey, '/v1/generations', { body: { prompt: `lamp ${n}` } });
      if (response.status !== 202) throw new Error(`create: ${response.status} ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    };
    const createRange = async (from: number, to: number) => {
      // A few requests at a time, as several shops' backends would send them.
      for (let n = from; n < to; n += 8) await Promise.all(Array.from({ length: Math.min(8, to - n) }, (_, i) => create(n + i)));
    };

    const started = Date.now();
    const half = Math.floor(scenario.jobs / 2);
    await createRange(0, half);
    const png = await pngBytes(30, 120, 200);
    for (const [p, server] of processes.entries()) {
      for (let r = 0; r < scenario.runnersPerProcess; r += 1)
        runners.push(await startInstantRunner(server.url, token, `p${p}-r${r}`, png));
    }
    await createRange(half, scenario.jobs);

    const { Generation: Jobs, Lease: Leases, JobTransition } = database.models;
    const succeeded = () => runAsSystem('scenario: count succeeded', () => Jobs.countDocuments({ status: 'succeeded' }));
    await vi.waitFor(
      async () => {
        if ((await succeeded()) < scenario.jobs) throw new Error('jobs still to finish');
      },
      { timeout: 300_000, interval: 100 },
    );
    const wallMs = Date.now() - started;

    const [leases, transitions] = await runAsSystem('scenario: count leases and transitions', () =>
      Promise.all([
        Leases.find({ jobId: trusted({ $in: ids }) })
          .select({ jobId: 1 })
          .lean(),
        JobTransition.find({ jobId: trusted({ $in: ids }) })
          .select({ jobId: 1, kind: 1 })
          .lean(),
      ]),
    );
    const claims = transitions.filter((transition) => transition.kind === 'claim');
    const completions = transitions.filter((transition) => transition.kind === 'complete');
    const deliveries = runners.flatMap((runner) => runner.jobs.map((job) => ({ jobId: job.jobId, runnerId: runner.runnerId })));
    return {
      processes: processes.length,
      runners: runners.length,
      tenants: tenants.length,
      jobs: ids.length,
      succeeded: await succeeded(),
      leases: leases.length,
      claimTransitions: claims.length,
      completeTransitions: completions.length,
      deliveries: deliveries.length,
      duplicates: {
        leases: repeated(leases.map((lease) => lease.jobId)),
        claims: repeated(claims.map((claim) => claim.jobId)),
        completions: repeated(completions.map((completion) => completion.jobId)),
        deliveries: repeated(deliveries.map((delivery) => delivery.jobId)),
      },
      wallMs,
    };
  } finally {
    await Promise.all(runners.map((runner) => runner.close()));
    await cluster.stop();
  }
}

/** How many values occur more than once. */
function repeated(values: string[]): number {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.values()].filter((count) => count > 1).length;
}
