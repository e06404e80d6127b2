import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_PROTOCOL_VERSION, type Performance } from '@atelier/protocol';
import {
  cancelActiveJobs,
  openRunnerSocket,
  type RunnerProbe,
  runnersGone,
  startTestServer,
  type TestServer,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';

let server: TestServer;
let runnerToken: string;
let tenant: { secretKey: string };

beforeAll(async () => {
  server = await startTestServer();
  runnerToken = await server.createRunnerToken();
  tenant = await server.createTenant({ name: 'Presets' });
});

afterAll(() => server.stop());

async function runnerOffering(performances: Performance[] | undefined): Promise<RunnerProbe> {
  const probe = await openRunnerSocket(server.url, runnerToken);
  probe.send({
    type: 'hello',
    v: RUNNER_PROTOCOL_VERSION,
    name: 'preset-runner',
    device: 'cpu',
    model: 'tiny',
    maxPixels: 2048 * 2048,
    ...(performances && { performances }),
  });
  const { runnerId } = await probe.receive('welcome');
  expect((await server.database.models.Runner.findById(runnerId).lean())?.performances).toEqual(performances);
  return probe;
}

const ask = (performance: Performance) =>
  server.api(tenant.secretKey, '/v1/generations', { body: { prompt: 'a glass vase', performance } });

describe('presets the runners offer', () => {
  it('queues any preset while no runner is online, and leases a runner only the presets it offers', async () => {
    const lightning = await ask('lightning');
    expect(lightning.status).toBe(202);
    const { id: waiting } = (await lightning.json()) as { id: string };
    const probe = await runnerOffering(['quality', 'speed']);
    const speed = (await (await ask('speed')).json()) as { id: string };
    probe.send({ type: 'ready' });
    // Oldest first would have picked the lightning job; this runner gets the speed one.
    expect((await probe.receive('job')).jobId).toBe(speed.id);
    const view = (await (await server.api(tenant.secretKey, `/v1/generations/${waiting}`)).json()) as { status: string };
    expect(view.status).toBe('queued');
    await probe.close();
    await runnersGone(server);
    await cancelActiveJobs(server);
  });

  it('refuses a preset that no online runner offers, naming it, and takes the ones offered', async () => {
    const probe = await runnerOffering(['quality', 'speed']);
    const count = () => runAsSystem('test: count', () => server.database.models.Generation.countDocuments());
    const before = await count();
    const refused = await ask('lightning');
    expect(refused.status).toBe(503);
    const problem = (await refused.json()) as { code: string; detail: string };
    expect(problem.code).toBe('unavailable');
    expect(problem.detail).toContain('"lightning" preset is not offered by any connected runner');
    expect(await count()).toBe(before);
    expect((await ask('speed')).status).toBe(202);

    // A runner that advertises no list runs every preset.
    const everything = await runnerOffering(undefined);
    expect((await ask('lightning')).status).toBe(202);
    await Promise.all([probe.close(), everything.close()]);
    await runnersGone(server);
    await cancelActiveJobs(server);
  });
});
