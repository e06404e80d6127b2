#!/usr/bin/env node
/**
 * `npm run setup:cuda -w @atelier/gpu-runner [-- --with-cuda-libs] [--cache-dir DIR] [--copy]`
 *
 * Gets onnxruntime's CUDA execution provider from PyPI alone: downloads the
 * `onnxruntime-gpu` wheel of the installed onnxruntime-node's version (checked against
 * PyPI's sha256), extracts `libonnxruntime_providers_cuda.so` and
 * `libonnxruntime_providers_shared.so` into the cache directory, and links them into
 * onnxruntime-node's binding directory, the only place onnxruntime loads them from (it
 * builds their path from its own library's directory). With `--with-cuda-libs`, the
 * wheel's `[cuda,cudnn]` extras (nvidia-* wheels) are fetched with pip and their shared
 * libraries gathered into one directory for LD_LIBRARY_PATH. Re-running is cheap: what is
 * cached and verified is not fetched again. After `npm ci`, run it again to relink.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { bindingDir } from './execution-provider.js';
import {
  GPU_PACKAGE,
  PYPI,
  extraRequirements,
  providerEntries,
  releaseFiles,
  selectWheel,
  versionMismatch,
  type PypiFile,
} from './cuda-wheel.js';
import { extractEntry, zipEntries } from './zip-reader.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const say = (line: string) => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
const cacheDir = option('--cache-dir') ?? join(homedir(), '.cache', 'atelier', `onnxruntime-gpu-${version}`);

try {
  await main();
} catch (error) {
  process.stderr.write(`setup:cuda: ${(error as Error).message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const wheel = await findWheel();
  const mismatch = versionMismatch(version, wheel);
  if (mismatch) throw new Error(mismatch);
  say(`onnxruntime-node ${version}: ${wheel.filename} (${mib(wheel.size)})`);

  await mkdir(join(cacheDir, 'lib'), { recursive: true });
  const wheelPath = join(cacheDir, wheel.filename);
  if (await hasSha256(wheelPath, wheel.digests.sha256)) say(`cached: ${wheelPath}`);
  else await download(wheel, wheelPath);

  const entries = await zipEntries(wheelPath);
  const binding = bindingDir();
  for (const name of providerEntries(process.platform)) {
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw new Error(`${wheel.filename} has no ${name}`);
    const target = join(cacheDir, 'lib', basename(name));
    await extractEntry(wheelPath, entry, target);
    const link = join(binding, basename(name));
    await rm(link, { force: true });
    if (flag('--copy')) await copyFile(target, link);
    else await symlink(target, link);
    say(`${basename(name)}: ${mib(entry.size)} → ${target} (${flag('--copy') ? 'copied' : 'linked'} into ${binding})`);
  }

  if (flag('--with-cuda-libs')) await cudaLibraries(wheelPath, entries);
  else {
    say('The CUDA 12/13 and cuDNN 9 libraries onnxruntime needs must be on the library path; to fetch them as nvidia-*');
    say('wheels from PyPI too: npm run setup:cuda -w @atelier/gpu-runner -- --with-cuda-libs');
  }
  say('Check: ATELIER_EXECUTION_PROVIDER=cuda npm run bench:runner (fails with the reason if CUDA cannot load).');
}

async function findWheel(): Promise<PypiFile> {
  // Some mirrors answer only the project document, not the per-version one.
  for (const url of [`${PYPI}/${GPU_PACKAGE}/${version}/json`, `${PYPI}/${GPU_PACKAGE}/json`]) {
    const response = await fetch(url);
    if (response.status === 404) continue;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const files = releaseFiles(await response.json(), version, url);
    if (files.length === 0) continue;
    const wheel = selectWheel(files, process.platform, process.arch);
    if (!wheel) throw new Error(`${GPU_PACKAGE} ${version} has no wheel for ${process.platform}/${process.arch}`);
    return wheel;
  }
  throw new Error(`PyPI has no ${GPU_PACKAGE} ${version}`);
}

async function download(file: PypiFile, target: string): Promise<void> {
  say(`downloading ${file.url}`);
  const started = performance.now();
  const response = await fetch(file.url);
  if (!response.ok || !response.body) throw new Error(`${file.url}: HTTP ${response.status}`);
  const partial = `${target}.partial`;
  await pipeline(Readable.fromWeb(response.body), createWriteStream(partial));
  if (!(await hasSha256(partial, file.digests.sha256))) {
    await rm(partial, { force: true });
    throw new Error(`${file.filename}: sha256 does not match PyPI's ${file.digests.sha256}`);
  }
  await copyFile(partial, target);
  await rm(partial, { force: true });
  say(`downloaded ${mib(file.size)} in ${((performance.now() - started) / 1000).toFixed(1)} s, sha256 verified`);
}

async function hasSha256(path: string, expected: string): Promise<boolean> {
  try {
    await stat(path);
  } catch {
    return false;
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex') === expected;
}

/** The `[cuda,cudnn]` extras through pip, their shared libraries gathered into `cuda-lib/`. */
async function cudaLibraries(wheelPath: string, entries: Awaited<ReturnType<typeof zipEntries>>): Promise<void> {
  const metadataEntry = entries.find((e) => /\.dist-info\/METADATA$/.test(e.name));
  if (!metadataEntry) throw new Error('the wheel has no METADATA');
  const metadataPath = join(cacheDir, 'METADATA');
  await extractEntry(wheelPath, metadataEntry, metadataPath);
  const requirements = extraRequirements(await readFile(metadataPath, 'utf8'), ['cuda', 'cudnn']);
  say(`[cuda,cudnn] extras: ${requirements.join(' ')}`);
  const wheels = join(cacheDir, 'wheels');
  const libs = join(cacheDir, 'cuda-lib');
  await mkdir(libs, { recursive: true });
  // With their dependencies: cuBLAS, for one, arrives as a dependency of cuDNN's wheel.
  await promisify(execFile)('python3', ['-m', 'pip', 'download', '--only-binary=:all:', '--dest', wheels, ...requirements], {
    maxBuffer: 16 * 1024 * 1024,
  });
  let total = 0;
  for (const name of await readdir(wheels)) {
    if (!name.startsWith('nvidia_') || !name.endsWith('.whl')) continue;
    const path = join(wheels, name);
    for (const entry of await zipEntries(path)) {
      if (!/^nvidia\/[^/]+\/lib\/[^/]+\.so(\.\d+)*$/.test(entry.name)) continue;
      await extractEntry(path, entry, join(libs, basename(entry.name)));
      total += entry.size;
    }
  }
  say(`CUDA libraries: ${mib(total)} in ${libs}`);
  say(`Start the runner with: LD_LIBRARY_PATH=${libs}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}`);
}
