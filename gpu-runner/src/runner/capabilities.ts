import { execFile } from 'node:child_process';
import { freemem, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { RunnerCapabilities } from '@atelier/protocol';
import type { ProviderReport } from '../onnx/onnx-session.js';

const run = promisify(execFile);

/**
 * What the runner tells the server it runs on, at each `hello` (memory is read then).
 * With CUDA the memory is the GPU's as `nvidia-smi` reports it; WebGPU exposes no memory
 * figures, so like CPU it reports the host's.
 */
export async function runnerCapabilities(models: string[], provider: ProviderReport): Promise<RunnerCapabilities> {
  const gpu = provider.device === 'cuda' ? await nvidiaMemory() : undefined;
  return {
    models,
    provider: provider.device,
    fallbacks: provider.fallbacks,
    memory: gpu ?? { kind: 'host', freeBytes: freemem(), totalBytes: totalmem() },
  };
}

/** Device 0's free and total memory, or undefined where nvidia-smi is missing or fails. */
async function nvidiaMemory(): Promise<RunnerCapabilities['memory'] | undefined> {
  try {
    const { stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=memory.free,memory.total', '--format=csv,noheader,nounits', '-i', '0'],
      {
        timeout: 5_000,
      },
    );
    return parseNvidiaSmiMemory(stdout);
  } catch {
    return undefined;
  }
}

/** `"80512, 81559\n"` (MiB) → bytes. */
export function parseNvidiaSmiMemory(stdout: string): RunnerCapabilities['memory'] | undefined {
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/m.exec(stdout);
  if (!match) return undefined;
  const mib = 1024 * 1024;
  return { kind: 'gpu', freeBytes: Number(match[1]) * mib, totalBytes: Number(match[2]) * mib };
}
