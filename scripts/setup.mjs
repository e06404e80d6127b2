#!/usr/bin/env node
// Installs whatever a fresh clone is missing, using only Node's standard library
// (nothing is installed yet when this runs). Called by `npm run demo` and `npm test`.
//
//   node scripts/setup.mjs            npm dependencies
//   node scripts/setup.mjs --browser  … and Debian's Chromium for the browser tests
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wantBrowser = process.argv.includes('--browser');

function fail(message) {
  console.error(`setup: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) fail(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status}`);
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && executable(join(dir, command)));
}

// Node: mongoose 9, vite 8 and the mongodb driver need 20.19 or newer.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Node.js 20.19 or newer is required (this is ${process.version})`);

// npm dependencies: reinstalled whenever package-lock.json changes.
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.atelier-lock-hash');
const lockHash = createHash('sha256').update(readFileSync(lock)).digest('hex');
const installed = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
if (installed !== lockHash) {
  console.log('setup: installing npm dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, lockHash);
}

// The embedded database is FerretDB, built once with the Go toolchain (see
// server/src/db/ferretdb-install.ts); say so early rather than fail mid-start.
if (!process.env.MONGODB_URI && !onPath('mongod') && !onPath('go')) {
  fail('no database available: set MONGODB_URI, put mongod on PATH, or install Go so FerretDB can be built');
}

// Browser tests use Debian's Chromium, never a downloaded browser.
if (wantBrowser) {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!executable(chromium)) {
    if (process.getuid?.() !== 0 || !onPath('apt-get')) {
      fail(`${chromium} is missing: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`);
    }
    console.log('setup: installing Debian chromium (apt-get)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env });
  }
}
