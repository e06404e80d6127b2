import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  extraRequirements,
  parseWheelFilename,
  providerEntries,
  releaseFiles,
  selectWheel,
  versionMismatch,
  type PypiFile,
} from './cuda-wheel.js';

/** The wheels PyPI lists for onnxruntime-gpu 1.30.0 (file names as published). */
const RELEASE_1_30 = [
  'onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_34_aarch64.whl',
  'onnxruntime_gpu-1.30.0-cp314-cp314t-manylinux_2_28_x86_64.whl',
  'onnxruntime_gpu-1.30.0-cp313-cp313t-manylinux_2_34_aarch64.whl',
  'onnxruntime_gpu-1.30.0-cp314-cp314-manylinux_2_34_aarch64.whl',
  'onnxruntime_gpu-1.30.0-cp313-cp313-manylinux_2_28_x86_64.whl',
  'onnxruntime_gpu-1.30.0-cp313-cp313t-manylinux_2_28_x86_64.whl',
  'onnxruntime_gpu-1.30.0-cp314-cp314-win_amd64.whl',
  'onnxruntime_gpu-1.30.0-cp311-cp311-win_amd64.whl',
  'onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_x86_64.whl',
  'onnxruntime_gpu-1.30.0-cp311-cp311-manylinux_2_28_x86_64.whl',
  'onnxruntime_gpu-1.30.0-cp311-cp311-manylinux_2_34_aarch64.whl',
].map((filename): PypiFile => ({
  filename,
  url: `../../packages/packages/ab/cd/${filename}`,
  size: 1,
  packagetype: 'bdist_wheel',
  digests: { sha256: '0'.repeat(64) },
}));

describe('choosing the onnxruntime-gpu wheel', () => {
  it('parses wheel file names into their tags', () => {
    expect(parseWheelFilename('onnxruntime_gpu-1.30.0-cp314-cp314t-manylinux_2_28_x86_64.whl')).toEqual({
      name: 'onnxruntime_gpu',
      version: '1.30.0',
      python: 'cp314',
      abi: 'cp314t',
      platforms: ['manylinux_2_28_x86_64'],
    });
    expect(
      parseWheelFilename('nvidia_cudnn_cu12-9.1.0.70-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl')?.platforms,
    ).toEqual(['manylinux2014_x86_64', 'manylinux_2_17_x86_64']);
    expect(parseWheelFilename('onnxruntime_gpu-1.30.0.tar.gz')).toBeUndefined();
  });

  it('takes a standard-ABI wheel of the oldest Python for the platform', () => {
    expect(selectWheel(RELEASE_1_30, 'linux', 'x64')?.filename).toBe(
      'onnxruntime_gpu-1.30.0-cp311-cp311-manylinux_2_28_x86_64.whl',
    );
    expect(selectWheel(RELEASE_1_30, 'linux', 'arm64')?.filename).toBe(
      'onnxruntime_gpu-1.30.0-cp311-cp311-manylinux_2_34_aarch64.whl',
    );
    expect(selectWheel(RELEASE_1_30, 'win32', 'x64')?.filename).toBe('onnxruntime_gpu-1.30.0-cp311-cp311-win_amd64.whl');
    expect(selectWheel(RELEASE_1_30, 'darwin', 'arm64')).toBeUndefined();
    const onlyFreeThreaded = RELEASE_1_30.filter((f) => f.filename.includes('t-manylinux_2_28_x86_64'));
    expect(selectWheel(onlyFreeThreaded, 'linux', 'x64')?.filename).toBe(
      'onnxruntime_gpu-1.30.0-cp313-cp313t-manylinux_2_28_x86_64.whl',
    );
    expect(selectWheel([{ ...RELEASE_1_30[9]!, yanked: true }], 'linux', 'x64')).toBeUndefined();
  });

  it('reads the release from either PyPI document, resolving relative URLs', () => {
    const projectUrl = 'https://pypi.org/pypi/onnxruntime-gpu/json';
    const project = { info: { version: '1.31.1' }, urls: [], releases: { '1.30.0': RELEASE_1_30 } };
    const files = releaseFiles(project, '1.30.0', projectUrl);
    expect(files).toHaveLength(RELEASE_1_30.length);
    expect(files[0]!.url).toBe(`https://pypi.org/packages/packages/ab/cd/${RELEASE_1_30[0]!.filename}`);
    const versionDoc = { info: { version: '1.30.0' }, urls: RELEASE_1_30.slice(0, 2) };
    expect(releaseFiles(versionDoc, '1.30.0', 'https://pypi.org/pypi/onnxruntime-gpu/1.30.0/json')).toHaveLength(2);
    expect(releaseFiles(project, '9.9.9', projectUrl)).toEqual([]);
  });

  it('requires the wheel to be the installed onnxruntime-node version', async () => {
    const installed = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    const pinned = (
      JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies['onnxruntime-node'];
    expect(installed).toBe(pinned);
    const wheel = selectWheel(RELEASE_1_30, 'linux', 'x64')!;
    expect(versionMismatch('1.30.0', wheel)).toBeUndefined();
    expect(versionMismatch('1.31.0', wheel)).toBe(
      'onnxruntime_gpu-1.30.0-cp311-cp311-manylinux_2_28_x86_64.whl is 1.30.0 but onnxruntime-node is 1.31.0',
    );
  });

  it('names the provider libraries inside the wheel per platform', () => {
    expect(providerEntries('linux')).toEqual([
      'onnxruntime/capi/libonnxruntime_providers_cuda.so',
      'onnxruntime/capi/libonnxruntime_providers_shared.so',
    ]);
    expect(providerEntries('win32')[0]).toBe('onnxruntime/capi/onnxruntime_providers_cuda.dll');
  });

  it("lists what the [cuda,cudnn] extras require from the wheel's METADATA", () => {
    const metadata = [
      'Metadata-Version: 2.1',
      'Name: onnxruntime-gpu',
      'Requires-Dist: flatbuffers',
      'Requires-Dist: numpy>=1.21.6',
      'Requires-Dist: nvidia-cuda-nvrtc~=13.0; extra == "cuda"',
      'Requires-Dist: nvidia-cuda-runtime ~= 13.0 ; extra == "cuda"',
      'Requires-Dist: nvidia-cudnn-cu13~=9.0; extra == "cudnn"',
      'Requires-Dist: ml-dtypes; extra == "quantization"',
    ].join('\n');
    expect(extraRequirements(metadata, ['cuda', 'cudnn'])).toEqual([
      'nvidia-cuda-nvrtc~=13.0',
      'nvidia-cuda-runtime~=13.0',
      'nvidia-cudnn-cu13~=9.0',
    ]);
    expect(extraRequirements(metadata, ['cudnn'])).toEqual(['nvidia-cudnn-cu13~=9.0']);
  });
});
