import { it } from 'vitest';
import { runClaimsScenario } from '../src/claims-scenario.js';

/**
 * The multi-process claim scenario of server/src/queue/multi-process.test.ts, printed:
 * three server processes (`node server/dist/main.js`) on one FerretDB, two instant
 * runners on each, jobs of four tenants created through REST on every process.
 * `BENCH_JOBS` sets how many jobs (default 150).
 */
it('claims across three server processes', async () => {
  const jobs = Number(process.env.BENCH_JOBS ?? 150);
  const figures = await runClaimsScenario({ processes: 3, runnersPerProcess: 2, tenants: 4, jobs });
  const duplicates = Object.values(figures.duplicates).reduce((sum, count) => sum + count, 0);
  const lines = [
    `processes            ${figures.processes}`,
    `runners              ${figures.runners}`,
    `tenants              ${figures.tenants}`,
    `jobs                 ${figures.jobs}`,
    `succeeded            ${figures.succeeded}`,
    `leases               ${figures.leases}`,
    `claim transitions    ${figures.claimTransitions}`,
    `complete transitions ${figures.completeTransitions}`,
    `jobs delivered       ${figures.deliveries}`,
    `duplicates           ${duplicates} (${JSON.stringify(figures.duplicates)})`,
    `wall time            ${(figures.wallMs / 1000).toFixed(1)} s (${((figures.jobs * 1000) / figures.wallMs).toFixed(1)} jobs/s)`,
  ];
  process.stdout.write(`\nbench:claims\n${lines.map((line) => `  ${line}`).join('\n')}\n\n`);
});
