import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Which onnxruntime execution provider the runner's sessions use, and why. The choice is
 * made once per process from what is installed (pure `planProviders` over a `HostProbe`,
 * so it is testable without a GPU) and then tried in order by `OnnxSession.create`.
 */

export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type Device = (typeof EXECUTION_PROVIDERS)[number];
/** `auto` tries CUDA, then WebGPU, then CPU; naming a provider fails instead of falling back. */
export const PROVIDER_PREFERENCES = ['auto', ...EXECUTION_PROVIDERS] as const;
export type ExecutionProviderPreference = (typeof PROVIDER_PREFERENCES)[number];

/** What the host offers, as far as can be seen without creating a session. */
export interface HostProbe {
  platform: NodeJS.Platform;
  /** The directory of onnxruntime-node's native binding, where it loads provider libraries from. */
  bindingDir: string;
  /** File names in `bindingDir`. */
  bindingFiles: readonly string[];
  /** Device nodes or adapters suggesting a GPU WebGPU could use (e.g. `/dev/dri/renderD128`). */
  gpuDevices: readonly string[];
}

export interface ProviderPlan {
  /** Providers to try, in order; the last one is the one that must work. */
  candidates: Device[];
  /** Why each provider ahead of the first candidate was not even tried, e.g. `cuda: … not found in …`. */
  skipped: string[];
}

/** The libraries onnxruntime loads for CUDA, by absolute path next to its own library. */
export function cudaProviderFiles(platform: NodeJS.Platform): string[] {
  return platform === 'win32'
    ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll']
    : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
}

/**
 * The providers worth trying for `preference` on `host`. CUDA needs its provider
 * libraries in the binding directory (onnxruntime loads them from beside
 * libonnxruntime, never from the library path); WebGPU is bundled but is only worth
 * trying where there is a GPU (Dawn would otherwise find no adapter, or a software one
 * slower than the CPU provider); CPU always works.
 */
export function planProviders(preference: ExecutionProviderPreference, host: HostProbe): ProviderPlan {
  if (preference !== 'auto') return { candidates: preference === 'cpu' ? ['cpu'] : [preference, 'cpu'], skipped: [] };
  const candidates: Device[] = [];
  const skipped: string[] = [];
  const missing = cudaProviderFiles(host.platform).filter((file) => !host.bindingFiles.includes(file));
  if (host.platform === 'darwin') skipped.push('cuda: not available on macOS');
  else if (missing.length > 0) {
    skipped.push(`cuda: ${missing.join(', ')} not found in ${host.bindingDir} (npm run setup:cuda -w @atelier/gpu-runner)`);
  } else candidates.push('cuda');
  if (host.gpuDevices.length > 0) candidates.push('webgpu');
  else skipped.push('webgpu: no GPU device found (no /dev/dri/renderD* or /dev/nvidia*)');
  candidates.push('cpu');
  return { candidates, skipped };
}

/** onnxruntime-node's binding directory, e.g. `…/onnxruntime-node/bin/napi-v6/linux/x64`. */
export function bindingDir(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(packageJson), 'bin', 'napi-v6', platform, arch);
}

/** The real host. */
export function probeHost(): HostProbe {
  const dir = bindingDir();
  return {
    platform: process.platform,
    bindingDir: dir,
    bindingFiles: listDir(dir),
    gpuDevices: gpuDevices(process.platform),
  };
}

/**
 * GPUs visible to this process. On Linux, DRM render nodes (any vendor; Vulkan under
 * Dawn) and NVIDIA device nodes; macOS always has Metal; on Windows D3D12 is assumed.
 */
function gpuDevices(platform: NodeJS.Platform): string[] {
  if (platform === 'darwin') return ['metal'];
  if (platform === 'win32') return ['d3d12'];
  const render = listDir('/dev/dri')
    .filter((name) => name.startsWith('renderD'))
    .map((name) => `/dev/dri/${name}`);
  const nvidia = listDir('/dev')
    .filter((name) => /^nvidia\d+$/.test(name))
    .map((name) => `/dev/${name}`);
  return [...render, ...nvidia];
}

function listDir(dir: string): string[] {
  try {
    return existsSync(dir) ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}

/**
 * Why the CUDA provider library cannot be loaded, as the dynamic loader says it (e.g.
 * `libcublasLt.so.13: cannot open shared object file`). onnxruntime reports only "Failed
 * to load shared library" to JavaScript and writes the loader's reason to its native
 * log, so the runner asks the loader itself, once CUDA has already failed. A library
 * that loads is not a Node addon, so Node refuses it ("did not self-register") and
 * unloads it: that means the libraries are fine and the failure lies elsewhere.
 */
export function cudaLoadFailure(platform: NodeJS.Platform = process.platform, dir: string = bindingDir()): string | undefined {
  const [library] = cudaProviderFiles(platform);
  try {
    process.dlopen({ exports: {} }, join(dir, library!));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return /did not self-register/.test(message) ? undefined : message;
  }
  return undefined;
}
