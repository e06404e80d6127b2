import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REALTIME_PATH, REALTIME_PROTOCOL_VERSION, socketUrl, type ServerMessage } from '@atelier/protocol';

/**
 * `npm run bench:e2e`: the whole stack on this machine (database, server and runner
 * processes), driven over the widget socket exactly as a storefront would. Prints how
 * long a shopper waits for each milestone of a 1024x1024 "speed" (30-step) generation.
 */
const runs = Number(process.env.BENCH_RUNS ?? 5);
// Set before the stack's loggers load (hence the dynamic import); its processes inherit it.
process.env.LOG_LEVEL ??= 'warn';
const { startDemoStack } = await import('../demo-stack.js');

const dataDir = await mkdtemp(join(tmpdir(), 'atelier-bench-'));
const stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0 });
const [tenant] = stack.manifest.tenants;

const url = socketUrl(stack.manifest.server, REALTIME_PATH, { key: tenant!.publishableKey });
const socket = new WebSocket(url, { headers: { Origin: tenant!.origin } });
const inbox: ServerMessage[] = [];
const waiters: (() => void)[] = [];
socket.on('message', (data) => {
  inbox.push(JSON.parse(String(data)) as ServerMessage);
  waiters.splice(0).forEach((wake) => wake());
});
await new Promise((resolve) => socket.once('open', resolve));

async function next(match: (m: ServerMessage) => boolean): Promise<ServerMessage> {
  for (;;) {
    const index = inbox.findIndex(match);
    if (index !== -1) return inbox.splice(index, 1)[0]!;
    await new Promise<void>((wake) => waiters.push(wake));
  }
}

socket.send(JSON.stringify({ type: 'hello', v: REALTIME_PROTOCOL_VERSION }));
await next((m) => m.type === 'welcome');

const rows: Record<string, number[]> = { accepted: [], firstStep: [], completed: [], imageLoaded: [] };
for (let run = 0; run < runs; run += 1) {
  const started = performance.now();
  socket.send(
    JSON.stringify({ type: 'generate', ref: `r${run}`, params: { prompt: `a walnut desk lamp, run ${run}`, seed: run } }),
  );
  const accepted = await next((m) => m.type === 'accepted');
  rows.accepted!.push(performance.now() - started);
  const id = (accepted as { id: string }).id;
  await next((m) => m.type === 'progress' && m.id === id && m.step >= 1);
  rows.firstStep!.push(performance.now() - started);
  const completed = await next((m) => (m.type === 'completed' || m.type === 'failed') && m.id === id);
  rows.completed!.push(performance.now() - started);
  if (completed.type !== 'completed') throw new Error(`generation failed: ${JSON.stringify(completed)}`);
  const response = await fetch(completed.images[0]!.url);
  await response.arrayBuffer();
  rows.imageLoaded!.push(performance.now() - started);
  inbox.length = 0;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const max = (values: number[]) => Math.max(...values);
console.log(`end-to-end bench (widget socket → server → runner process → signed image), ${runs} runs, 1024x1024, 30 steps`);
for (const [name, values] of Object.entries(rows)) {
  console.log(
    `  ${name.padEnd(14)} median ${median(values).toFixed(0).padStart(5)} ms   max ${max(values).toFixed(0).padStart(5)} ms`,
  );
}

socket.close();
await stack.stop();
await rm(dataDir, { recursive: true, force: true });
