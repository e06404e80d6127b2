import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEventBody, AuditEventListBody } from '@atelier/protocol';
import {
  completeJob,
  connectRunner,
  createGeneration,
  pngBytes,
  readJob,
  startTestServer,
  type TestServer,
} from '@atelier/testing';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { RetentionSweeper } from './retention-sweeper.js';

const DAY_MS = 86_400_000;

let server: TestServer;
let runnerToken: string;

beforeAll(async () => {
  server = await startTestServer();
  runnerToken = await server.createRunnerToken();
});

afterAll(() => server.stop());

/** Every file under the server's storage, as `tenants/<id>/...` paths. */
async function storedFiles(): Promise<string[]> {
  const root = join(server.dataDir, 'files');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

const everything = () =>
  runAsSystem('test: what is stored', async () => {
    const { Generation, JobTransition, Upload } = server.database.models;
    return {
      generations: (await Generation.find().select({ _id: 1, tenantId: 1 }).lean()).map((job) => job._id).sort(),
      transitions: [...new Set((await JobTransition.find().select({ jobId: 1 }).lean()).map((t) => t.jobId))].sort(),
      uploads: (await Upload.find().select({ _id: 1 }).lean()).map((upload) => upload._id).sort(),
    };
  });

/** The tenant's audit log through its own key, newest first. */
async function auditLog(secretKey: string): Promise<AuditEventBody[]> {
  const response = await server.api(secretKey, '/v1/audit-events?limit=100');
  expect(response.status).toBe(200);
  return ((await response.json()) as AuditEventListBody).data;
}

async function uploadPng(secretKey: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'image/png' },
    body: await sharp({ create: { width: 96, height: 96, channels: 3, background: '#1e8c50' } })
      .png()
      .toBuffer(),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** A generation run to the end by a runner, with one stored image. */
async function finishedJob(secretKey: string): Promise<string> {
  const id = await createGeneration(server, secretKey, { prompt: 'a ceramic vase' });
  const runner = await connectRunner(server.url, runnerToken);
  try {
    runner.send({ type: 'ready' });
    const job = await runner.receive('job', (message) => message.jobId === id);
    completeJob(runner, job, [await pngBytes(1, 2, 3)]);
    await vi.waitFor(async () => expect((await readJob(server, id)).status).toBe('succeeded'));
  } finally {
    await runner.close();
  }
  return id;
}

describe('RetentionSweeper', () => {
  it("deletes ended jobs (images, history) and old uploads past each tenant's retention, and nothing else", async () => {
    const shortLived = await server.createTenant({ name: 'Short' });
    const longLived = await server.createTenant({ name: 'Long' });
    const config = await server.api(shortLived.secretKey, '/v1/config', { method: 'PUT', body: { retentionDays: 1 } });
    expect(config.status).toBe(200);

    const oldJob = await finishedJob(shortLived.secretKey);
    const keptJob = await finishedJob(longLived.secretKey);
    const oldUpload = await uploadPng(shortLived.secretKey);
    // An upload as old as the other, but a queued job still needs it.
    const neededUpload = await uploadPng(shortLived.secretKey);
    const waiting = await createGeneration(server, shortLived.secretKey, {
      prompt: 'a vase, varied',
      mode: 'vary-subtle',
      inputImageId: neededUpload,
    });
    // And one the configuration names as the watermark's logo.
    const logo = await uploadPng(shortLived.secretKey);
    const named = await server.api(shortLived.secretKey, '/v1/config', {
      method: 'PUT',
      body: { output: { watermarkStyle: { logoImageId: logo } } },
    });
    expect(named.status).toBe(200);
    const before = { stored: await everything(), files: await storedFiles() };
    expect(before.files.filter((file) => file.includes(oldJob))).toHaveLength(1);

    // Two days on: past the short-lived tenant's one day, within the other's default.
    const now = new Date(Date.now() + 2 * DAY_MS);
    const sweeper = new RetentionSweeper({
      models: server.database.models,
      configs: server.services.configs,
      storage: server.services.storage,
      audit: server.services.audit,
      now: () => now,
    });
    const logBefore = { short: await auditLog(shortLived.secretKey), long: await auditLog(longLived.secretKey) };
    expect(await sweeper.sweep()).toEqual({ generations: 1, uploads: 1, files: 2 });

    const after = { stored: await everything(), files: await storedFiles() };
    expect(after.stored).toEqual({
      generations: before.stored.generations.filter((id) => id !== oldJob),
      transitions: before.stored.transitions.filter((id) => id !== oldJob),
      uploads: before.stored.uploads.filter((id) => id !== oldUpload),
    });
    expect(after.files).toEqual(before.files.filter((file) => !file.includes(oldJob) && !file.includes(oldUpload)));
    expect(after.stored.generations).toEqual(expect.arrayContaining([keptJob, waiting]));
    expect(after.stored.uploads).toEqual(expect.arrayContaining([neededUpload, logo]));
    expect((await server.api(shortLived.secretKey, `/v1/generations/${oldJob}`)).status).toBe(404);

    // One entry in the swept tenant's log, with the counts and the cut-off; none in the other's.
    const logAfter = { short: await auditLog(shortLived.secretKey), long: await auditLog(longLived.secretKey) };
    expect(logAfter.long).toEqual(logBefore.long);
    expect(logAfter.short.slice(1)).toEqual(logBefore.short);
    expect(logAfter.short[0]).toMatchObject({
      action: 'data.deleted',
      actor: { kind: 'system' },
      target: null,
      details: {
        reason: 'retention',
        retentionDays: 1,
        cutoff: new Date(now.getTime() - DAY_MS).toISOString(),
        generations: 1,
        uploads: 1,
        files: 2,
      },
    });
    expect(JSON.stringify(logAfter.short[0])).not.toContain('vase');

    // A second run finds nothing more, and says nothing.
    expect(await sweeper.sweep()).toEqual({ generations: 0, uploads: 0, files: 0 });
    expect(await auditLog(shortLived.secretKey)).toEqual(logAfter.short);
  });
});
