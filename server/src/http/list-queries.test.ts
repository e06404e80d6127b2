import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { mongo } from 'mongoose';
import { createGeneration, freshDatabaseUri, startTestServer, type TestServer } from '@atelier/testing';

/**
 * Listing generations costs the database a fixed number of commands per page, however
 * many queued jobs the page holds (each used to cost a count and a runner count). Counted
 * with the driver's command monitoring on the server's own connection.
 */
const QUEUED_JOBS = 200;
/** Authentication, the page itself, and room for a constant few more (e.g. one `$in` for running jobs). */
const MAX_COMMANDS_PER_PAGE = 8;

let server: TestServer;
let secretKey: string;
let commands: mongo.CommandStartedEvent[] = [];

beforeAll(async () => {
  const uri = new URL(freshDatabaseUri());
  uri.searchParams.set('monitorCommands', 'true');
  server = await startTestServer(
    // No background dispatch pass or lease sweep may run while a request is counted.
    { ATELIER_DISPATCH_POLL_MS: '60000', ATELIER_RUNNER_LEASE_MS: '3600000' },
    { reuse: { mongodbUri: uri.toString(), dataDir: await mkdtemp(join(tmpdir(), 'atelier-test-')) } },
  );
  // More requests than `pro` allows a minute: enterprise's rate limit has room for them.
  ({ secretKey } = await server.createTenant({ plan: 'enterprise' }));
  for (let created = 0; created < QUEUED_JOBS; created += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => createGeneration(server, secretKey, { prompt: `job ${created + i}` })),
    );
  }
  server.database.connection.getClient().on('commandStarted', (event) => commands.push(event));
}, 120_000);

afterAll(() => server?.stop());

async function commandsFor(path: string): Promise<{ items: number; names: string[] }> {
  commands = [];
  const response = await server.api(secretKey, path);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { data: { status: string }[] };
  return {
    items: body.data.length,
    names: commands
      .map((event) => `${event.commandName} ${String(event.command[event.commandName])}`)
      // The process's own heartbeat (queue/server-instances.ts) runs on a timer, not for the request.
      .filter((name) => !name.endsWith(' server_instances')),
  };
}

describe('GET /v1/generations', () => {
  it(`issues the same few database commands for a page of 100 as for a page of 2, with ${QUEUED_JOBS} jobs queued`, async () => {
    const small = await commandsFor('/v1/generations?limit=2');
    const large = await commandsFor('/v1/generations?limit=100');
    expect(small.items).toBe(2);
    expect(large.items).toBe(100);
    expect(large.names.length, large.names.join('\n')).toBeLessThanOrEqual(MAX_COMMANDS_PER_PAGE);
    // FerretDB leaves the cursor of a full first batch open, so a long page adds one
    // `killCursors`; it reads nothing, and is left out of the comparison. So are the
    // process's own background reads of plans and live server processes (the rate
    // limits' refresh, every few seconds), which may fall within either request.
    const reads = (names: string[]) =>
      names.filter((name) => !name.startsWith('killCursors') && name !== 'find plans' && name !== 'find server_instances');
    expect(reads(large.names), `limit=2:\n${small.names.join('\n')}\nlimit=100:\n${large.names.join('\n')}`).toEqual(
      reads(small.names),
    );
  });

  it('still gives the single-job view its queue position', async () => {
    const { data } = (await (await server.api(secretKey, '/v1/generations?limit=1')).json()) as {
      data: { id: string; queue?: unknown }[];
    };
    expect(data[0]).not.toHaveProperty('queue');
    const view = (await (await server.api(secretKey, `/v1/generations/${data[0]!.id}`)).json()) as {
      queue: { position: number };
    };
    // The newest job waits behind all the others (jobs created in one millisecond tie).
    expect(view.queue.position).toBeGreaterThan(QUEUED_JOBS - 10);
  });
});
