import mongoose from 'mongoose';
import { vi } from 'vitest';
import type { GenerationBody, GenerationParams } from '@atelier/protocol';
import { runAsSystem, runWithTenant, type Generation } from '@atelier/server';
import type { TestServer } from './test-server.js';

const { trusted } = mongoose;

/** POST /v1/generations as the tenant; returns the new id. */
export async function createGeneration(
  server: TestServer,
  secretKey: string,
  params: GenerationParams = { prompt: 'a walnut desk lamp' },
): Promise<string> {
  const response = await server.api(secretKey, '/v1/generations', { body: params });
  if (response.status !== 202) throw new Error(`createGeneration: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** GET /v1/generations/:id as the tenant. */
export async function viewGeneration(server: TestServer, secretKey: string, id: string): Promise<GenerationBody> {
  const response = await server.api(secretKey, `/v1/generations/${id}`);
  if (response.status !== 200) throw new Error(`viewGeneration: ${response.status} ${await response.text()}`);
  return (await response.json()) as GenerationBody;
}

/** The stored job, bypassing the API (to see lease, epoch and attempts). */
export async function readJob(server: TestServer, id: string): Promise<Generation> {
  const job = await runAsSystem('test: read job', () => server.database.models.Generation.findById(id).lean());
  if (!job) throw new Error(`no job ${id}`);
  return job;
}

/**
 * Cancels every queued or running job, so that the next test's runners are not handed
 * this test's leftovers (the queue is shared by every tenant of the server).
 */
export async function cancelActiveJobs(server: TestServer): Promise<void> {
  const active = await runAsSystem('test: find active jobs', () =>
    server.database.models.Generation.find({ status: trusted({ $in: ['queued', 'running'] }) })
      .select({ _id: 1, tenantId: 1 })
      .lean(),
  );
  for (const job of active) await runWithTenant(job.tenantId, () => server.services.queue.cancel(job._id));
  await server.services.dispatcher.settled();
}

/** Waits until the server has finished with every runner socket that was closed. */
export async function runnersGone(server: TestServer): Promise<void> {
  await vi.waitFor(() => {
    if (server.services.runnerHub.connectedCount !== 0) throw new Error('runner sessions still open');
  });
}
