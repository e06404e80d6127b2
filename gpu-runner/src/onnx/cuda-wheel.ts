/**
 * The pure half of `npm run setup:cuda` (setup-cuda.ts): which `onnxruntime-gpu` wheel on
 * PyPI carries the CUDA provider for this platform and this onnxruntime-node, and what
 * its `[cuda,cudnn]` extras require. No I/O here, so all of it is tested offline.
 */

export const GPU_PACKAGE = 'onnxruntime-gpu';
export const PYPI = 'https://pypi.org/pypi';

/** One file of a release, as PyPI's JSON API lists it. */
export interface PypiFile {
  filename: string;
  url: string;
  size: number;
  packagetype: string;
  digests: { sha256: string };
  yanked?: boolean;
}

export interface WheelTags {
  name: string;
  version: string;
  python: string;
  abi: string;
  platforms: string[];
}

/** `onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_x86_64.whl` → its tags (PEP 427). */
export function parseWheelFilename(filename: string): WheelTags | undefined {
  const match = /^([^-]+)-([^-]+)(?:-\d[^-]*)?-([^-]+)-([^-]+)-([^-]+)\.whl$/.exec(filename);
  if (!match) return undefined;
  const [, name, version, python, abi, platform] = match as unknown as [string, string, string, string, string, string];
  return { name, version, python, abi, platforms: platform.split('.') };
}

/** The wheel platform tags that fit a Node platform and architecture, or none (macOS has no CUDA). */
export function wheelPlatformPattern(platform: NodeJS.Platform, arch: string): RegExp | undefined {
  if (platform === 'linux' && arch === 'x64') return /^(manylinux\w*_x86_64|linux_x86_64)$/;
  if (platform === 'linux' && arch === 'arm64') return /^(manylinux\w*_aarch64|linux_aarch64)$/;
  if (platform === 'win32' && arch === 'x64') return /^win_amd64$/;
  return undefined;
}

/**
 * The wheel to take the provider libraries from. The libraries do not depend on the
 * Python version, so any CPython build for the platform will do; a standard (not
 * free-threaded `t`) ABI of the oldest Python is preferred, as the most widely mirrored.
 */
export function selectWheel(files: readonly PypiFile[], platform: NodeJS.Platform, arch: string): PypiFile | undefined {
  const pattern = wheelPlatformPattern(platform, arch);
  if (!pattern) return undefined;
  const candidates = files
    .filter((file) => file.packagetype === 'bdist_wheel' && !file.yanked)
    .map((file) => ({ file, tags: parseWheelFilename(file.filename) }))
    .filter((c): c is { file: PypiFile; tags: WheelTags } => !!c.tags && c.tags.platforms.some((tag) => pattern.test(tag)));
  const rank = ({ tags }: { tags: WheelTags }) => [tags.abi.endsWith('t') ? 1 : 0, pythonMinor(tags.python)] as const;
  candidates.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || a.file.filename.localeCompare(b.file.filename);
  });
  return candidates[0]?.file;
}

function pythonMinor(tag: string): number {
  const match = /^cp3(\d+)$/.exec(tag);
  return match ? Number(match[1]) : 1000;
}

/**
 * The release's files from PyPI's JSON: `/pypi/<name>/<version>/json` answers with
 * `urls`, `/pypi/<name>/json` with every release under `releases`. Relative URLs (some
 * mirrors write them) are resolved against the document's own URL.
 */
export function releaseFiles(document: unknown, version: string, documentUrl: string): PypiFile[] {
  const doc = document as { urls?: PypiFile[]; releases?: Record<string, PypiFile[]>; info?: { version?: string } };
  const files = doc.info?.version === version && doc.urls ? doc.urls : doc.releases?.[version];
  if (!files) return [];
  return files.map((file) => ({ ...file, url: new URL(file.url, documentUrl).toString() }));
}

/**
 * The installed onnxruntime-node and the wheel must be the same release: the provider
 * libraries talk to libonnxruntime through an internal interface that changes between
 * versions, so a mismatch fails at load or, worse, misbehaves.
 */
export function versionMismatch(installed: string, wheel: PypiFile): string | undefined {
  const tags = parseWheelFilename(wheel.filename);
  if (!tags) return `${wheel.filename} is not a wheel file name`;
  return tags.version === installed ? undefined : `${wheel.filename} is ${tags.version} but onnxruntime-node is ${installed}`;
}

/** The provider libraries inside the wheel, by platform. */
export function providerEntries(platform: NodeJS.Platform): string[] {
  return platform === 'win32'
    ? ['onnxruntime/capi/onnxruntime_providers_cuda.dll', 'onnxruntime/capi/onnxruntime_providers_shared.dll']
    : ['onnxruntime/capi/libonnxruntime_providers_cuda.so', 'onnxruntime/capi/libonnxruntime_providers_shared.so'];
}

/**
 * The requirements the given extras add, from a wheel's METADATA `Requires-Dist` lines,
 * e.g. `nvidia-cuda-runtime~=13.0; extra == "cuda"` → `nvidia-cuda-runtime~=13.0`.
 */
export function extraRequirements(metadata: string, extras: readonly string[]): string[] {
  const wanted = new Set(extras);
  const out: string[] = [];
  for (const line of metadata.split(/\r?\n/)) {
    const match = /^Requires-Dist:\s*([^;]+?)\s*;\s*(.*)$/.exec(line);
    if (!match) continue;
    const extra = /extra\s*==\s*["']([^"']+)["']/.exec(match[2]!)?.[1];
    if (extra && wanted.has(extra)) out.push(match[1]!.replace(/\s+/g, ''));
  }
  return out;
}
