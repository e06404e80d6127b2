#!/usr/bin/env node
/**
 * `npm run bench:queue`: the queue's own costs, with no-op runners (each finishes a job
 * the moment it gets it) attached to the real dispatcher of a real server on the
 * embedded database (FerretDB, as in the tests: the slower case).
 *
 *   npm run bench:queue -- --jobs 100 --runners 4 --latency 30
 *
 * Prints figures only: enqueue → lease latency (p50/p99, jobs accepted one at a time
 * through POST /v1/generations with idle runners waiting), dispatch throughput (a
 * backlog of `--jobs` and 80 more drained by `--runners`), the dispatcher's own time per
 * job in that drain (choosing and leasing it: `claimNext`) beside the completion's, the
 * database commands each costs (a figure the machine's load does not move), and Jain's
 * fairness index of the weight-normalised service over a skewed mix of tenants (one
 * flooding on `enterprise`, others with a few jobs on smaller plans).
 */
import { parseArgs } from 'node:util';
import { MODES } from '@atelier/protocol';
import type { Dispatcher } from '../queue/dispatcher.js';
import { percentile, printRows, startBenchServer } from './bench-server.js';

type Leased = Parameters<Parameters<Dispatcher['addIdle']>[0]['assign']>[0];

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100' },
    runners: { type: 'string', default: '4' },
    latency: { type: 'string', default: '30' },
  },
});
const jobs = Number(values.jobs);
const runnerCount = Number(values.runners);
const latencySamples = Number(values.latency);

const bench = await startBenchServer({
  name: 'queue',
  monitorCommands: true,
  env: { ATELIER_MAX_QUEUED_PER_TENANT: '100000' },
});
const { server, database } = bench;
const { dispatcher, queue } = server.services;

let commands = 0;
server.database.connection.getClient().on('commandStarted', () => (commands += 1));

/** Time spent in the queue's claims and completions (wrapped on this instance only, for the figures). */
const spent = { claim: 0, claims: 0, complete: 0, completions: 0 };
const claimNext = queue.claimNext.bind(queue);
queue.claimNext = async (...args) => {
  const started = performance.now();
  const job = await claimNext(...args);
  if (job) {
    spent.claim += performance.now() - started;
    spent.claims += 1;
  }
  return job;
};
const complete = queue.complete.bind(queue);
queue.complete = async (...args) => {
  const started = performance.now();
  const outcome = await complete(...args);
  spent.complete += performance.now() - started;
  spent.completions += 1;
  return outcome;
};
const createTenant = (plan: string) => bench.createTenant(plan, 100_000);

async function enqueue(secretKey: string, prompt: string): Promise<string> {
  const response = await fetch(new URL('/v1/generations', server.url), {
    method: 'POST',
    headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, performance: 'speed' }),
  });
  if (response.status !== 202) throw new Error(`create: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** No-op runners on the real dispatcher: each completes its job at once and is idle again. */
function attachRunners(onLease: (job: Leased) => void): { done: Promise<void>; stop(): void } {
  let stopped = false;
  let inFlight = 0;
  let settle: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (settle = resolve));
  for (let i = 0; i < runnerCount; i += 1) {
    const runner = {
      id: `bench-runner-${i}`,
      modes: MODES,
      assign(job: Leased): boolean {
        onLease(job);
        inFlight += 1;
        void queue.complete(job, []).finally(() => {
          inFlight -= 1;
          if (!stopped) dispatcher.addIdle(runner);
          if (stopped && inFlight === 0) settle();
        });
        return true;
      },
    };
    dispatcher.addIdle(runner);
  }
  return {
    done,
    stop() {
      stopped = true;
      for (let i = 0; i < runnerCount; i += 1) dispatcher.remove(`bench-runner-${i}`);
      if (inFlight === 0) settle();
    },
  };
}

const jain = (shares: number[]) =>
  shares.reduce((a, b) => a + b, 0) ** 2 / (shares.length * shares.reduce((a, b) => a + b * b, 0));

try {
  const rows: [string, string][] = [];

  // 1. Enqueue → lease: idle runners wait; each job is accepted, then leased.
  {
    const tenant = await createTenant('enterprise');
    const accepted = new Map<string, number>();
    const latencies: number[] = [];
    let waiter: (() => void) | undefined;
    const runners = attachRunners((job) => {
      const at = accepted.get(job.jobId);
      if (at !== undefined) latencies.push(performance.now() - at);
      waiter?.();
    });
    const commandsBefore = commands;
    for (let i = 0; i < latencySamples; i += 1) {
      const leased = new Promise<void>((resolve) => (waiter = resolve));
      const before = performance.now();
      const id = await enqueue(tenant.secretKey, `latency ${i}`);
      accepted.set(id, before);
      await leased;
    }
    runners.stop();
    await runners.done;
    await dispatcher.settled();
    // Measured from sending the request: includes accepting it (reserve + store), as a client sees it.
    rows.push(['enqueue→lease p50', `${percentile(latencies, 0.5).toFixed(1)} ms`]);
    rows.push(['enqueue→lease p99', `${percentile(latencies, 0.99).toFixed(1)} ms`]);
    rows.push([
      'database commands per job',
      `${((commands - commandsBefore) / latencySamples).toFixed(1)} (accept, lease, complete)`,
    ]);
  }

  // 2. Throughput and 4. fairness: a skewed backlog drained by no-op runners.
  {
    const flooder = await createTenant('enterprise');
    const others = [
      await createTenant('pro'),
      await createTenant('basic'),
      await createTenant('basic'),
      await createTenant('free'),
    ];
    const weights = new Map<string, number>([[flooder.tenantId, 8]]);
    for (const [i, tenant] of others.entries()) weights.set(tenant.tenantId, [4, 2, 2, 1][i]!);
    const backlog = Math.max(jobs, 40);
    for (let i = 0; i < backlog; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => enqueue(flooder.secretKey, `flood ${i + j}`)));
    }
    for (const tenant of others) for (let i = 0; i < 20; i += 1) await enqueue(tenant.secretKey, `small ${i}`);
    const total = backlog + others.length * 20;
    const order: string[] = [];
    Object.assign(spent, { claim: 0, claims: 0, complete: 0, completions: 0 });
    const commandsBefore = commands;
    const started = performance.now();
    let finish: () => void = () => undefined;
    const drained = new Promise<void>((resolve) => (finish = resolve));
    const runners = attachRunners((job) => {
      order.push(job.tenantId);
      if (order.length === total) finish();
    });
    await drained;
    const seconds = (performance.now() - started) / 1000;
    runners.stop();
    await runners.done;
    rows.push(['dispatch throughput', `${(total / seconds).toFixed(1)} jobs/s (${total} jobs, ${runnerCount} runners)`]);
    rows.push([
      'dispatcher overhead per job',
      `${(spent.claim / spent.claims).toFixed(1)} ms to choose and lease it (claimNext), ` +
        `${(spent.complete / spent.completions).toFixed(1)} ms to complete it, mean`,
    ]);
    rows.push([
      'database commands per job',
      `${((commands - commandsBefore) / total).toFixed(1)} in the drain (lease, complete)`,
    ]);
    // While every tenant still had work: the first 60 starts (the small tenants have 20 each).
    const window = order.slice(0, 60);
    const shares = [...weights].map(([tenantId, weight]) => window.filter((id) => id === tenantId).length / weight);
    rows.push([
      'Jain index (weight-normalised)',
      `${jain(shares).toFixed(3)} over the first ${window.length} starts, weights 8/4/2/2/1`,
    ]);
  }

  printRows(`queue bench (database: ${database.kind}, no-op runners)`, rows);
} finally {
  await bench.close();
}
