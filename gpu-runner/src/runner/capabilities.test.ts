import { freemem, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseNvidiaSmiMemory, runnerCapabilities } from './capabilities.js';

describe('runner capabilities', () => {
  it("reads nvidia-smi's memory query in MiB as bytes", () => {
    expect(parseNvidiaSmiMemory('80512, 81559\n')).toEqual({
      kind: 'gpu',
      freeBytes: 80512 * 1024 * 1024,
      totalBytes: 81559 * 1024 * 1024,
    });
    expect(
      parseNvidiaSmiMemory('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'),
    ).toBeUndefined();
  });

  it("reports the host's memory on CPU, with the provider and its fallbacks", async () => {
    const before = freemem();
    const capabilities = await runnerCapabilities(['sdxl-base'], {
      device: 'cpu',
      preference: 'auto',
      fallbacks: ['webgpu: no GPU device found'],
    });
    expect(capabilities).toMatchObject({
      models: ['sdxl-base'],
      provider: 'cpu',
      fallbacks: ['webgpu: no GPU device found'],
      memory: { kind: 'host', totalBytes: totalmem() },
    });
    // Free memory moves; it is the host's figure, not a made-up one.
    expect(Math.abs(capabilities.memory.freeBytes - before)).toBeLessThan(totalmem() / 4);
  });
});
