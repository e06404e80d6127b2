import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaLoadFailure, planProviders, type HostProbe } from './execution-provider.js';

const linux = (bindingFiles: string[], gpuDevices: string[] = []): HostProbe => ({
  platform: 'linux',
  bindingDir: '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64',
  bindingFiles: ['libonnxruntime.so.1', 'onnxruntime_binding.node', ...bindingFiles],
  gpuDevices,
});
const CUDA_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];

describe('planProviders', () => {
  it('tries CUDA first when its provider libraries sit beside the binding, then WebGPU on a GPU, then CPU', () => {
    expect(planProviders('auto', linux(CUDA_FILES, ['/dev/nvidia0']))).toEqual({
      candidates: ['cuda', 'webgpu', 'cpu'],
      skipped: [],
    });
  });

  it('says which CUDA file is missing and where it looked', () => {
    const plan = planProviders('auto', linux(['libonnxruntime_providers_shared.so'], ['/dev/dri/renderD128']));
    expect(plan.candidates).toEqual(['webgpu', 'cpu']);
    expect(plan.skipped).toEqual([
      'cuda: libonnxruntime_providers_cuda.so not found in /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64 (npm run setup:cuda -w @atelier/gpu-runner)',
    ]);
  });

  it('runs on CPU without a GPU device, giving both reasons', () => {
    const plan = planProviders('auto', linux([]));
    expect(plan.candidates).toEqual(['cpu']);
    expect(plan.skipped).toHaveLength(2);
    expect(plan.skipped[0]).toMatch(
      /^cuda: libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so not found in /,
    );
    expect(plan.skipped[1]).toMatch(/^webgpu: no GPU device found/);
  });

  it('uses WebGPU for Metal on macOS, where there is no CUDA', () => {
    expect(planProviders('auto', { platform: 'darwin', bindingDir: '/b', bindingFiles: [], gpuDevices: ['metal'] })).toEqual({
      candidates: ['webgpu', 'cpu'],
      skipped: ['cuda: not available on macOS'],
    });
  });

  it('looks for the Windows DLL names on Windows', () => {
    const host: HostProbe = {
      platform: 'win32',
      bindingDir: 'C:\\b',
      bindingFiles: ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll'],
      gpuDevices: ['d3d12'],
    };
    expect(planProviders('auto', host).candidates).toEqual(['cuda', 'webgpu', 'cpu']);
  });

  it('honours an explicit provider whatever is installed, so that a missing one fails loudly', () => {
    expect(planProviders('cuda', linux([])).candidates).toEqual(['cuda', 'cpu']);
    expect(planProviders('webgpu', linux([])).candidates).toEqual(['webgpu', 'cpu']);
    expect(planProviders('cpu', linux(CUDA_FILES, ['/dev/nvidia0']))).toEqual({ candidates: ['cpu'], skipped: [] });
  });
});

describe('cudaLoadFailure', () => {
  it("gives the dynamic loader's reason a provider library cannot be loaded", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cuda-load-'));
    try {
      expect(cudaLoadFailure('linux', dir)).toMatch(/libonnxruntime_providers_cuda\.so: cannot open shared object file/);
      await writeFile(join(dir, 'libonnxruntime_providers_cuda.so'), 'not an ELF file');
      expect(cudaLoadFailure('linux', dir)).toMatch(/invalid ELF header|file too short/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
