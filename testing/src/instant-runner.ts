import type { RunnerCancelMessage, RunnerJobMessage, ServerToRunnerMessage } from '@atelier/protocol';
import { completeJob, connectRunner, type RunnerProbe } from './protocol-clients.js';

export interface ScriptedRunner {
  runnerId: string;
  probe: RunnerProbe;
  /** Every job this runner was handed, in order. */
  readonly jobs: RunnerJobMessage[];
  /** Every `cancel` it was sent, in order. */
  readonly cancels: RunnerCancelMessage[];
  close(): Promise<void>;
}

/**
 * A runner that speaks the real protocol over a real socket and finishes every job the
 * moment it gets it: the job's images (a real PNG each), `completed`, then `ready`
 * again. For tests about the queue rather than the pipeline.
 */
export function startInstantRunner(serverUrl: string, token: string, name: string, png: Uint8Array): Promise<ScriptedRunner> {
  return startScriptedRunner(serverUrl, token, name, {
    onJob: (probe, job) =>
      completeJob(probe, job, Array.from({ length: job.params.imageCount }, () => png)).then(() => probe.send({ type: 'ready' })),
    // A cancel can only come after it finished the job and asked for the next one.
    onCancel: () => undefined,
  });
}

/**
 * A runner that keeps every job it gets running (it never reports on it) until the job
 * is cancelled; then, as the real runner does, it says `ready` for the next one.
 */
export function startHoldingRunner(serverUrl: string, token: string, name: string): Promise<ScriptedRunner> {
  return startScriptedRunner(serverUrl, token, name, {
    onJob: () => undefined,
    onCancel: (probe) => probe.send({ type: 'ready' }),
  });
}

interface Script {
  onJob(probe: RunnerProbe, job: RunnerJobMessage): unknown;
  onCancel(probe: RunnerProbe, cancel: RunnerCancelMessage): unknown;
}

async function startScriptedRunner(serverUrl: string, token: string, name: string, script: Script): Promise<ScriptedRunner> {
  const probe = await connectRunner(serverUrl, token, name);
  const jobs: RunnerJobMessage[] = [];
  const cancels: RunnerCancelMessage[] = [];
  probe.ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as ServerToRunnerMessage;
    if (message.type === 'job') {
      jobs.push(message);
      void script.onJob(probe, message);
    } else if (message.type === 'cancel') {
      cancels.push(message);
      void script.onCancel(probe, message);
    }
  });
  probe.send({ type: 'ready' });
  return { runnerId: probe.runnerId, probe, jobs, cancels, close: async () => void (await probe.close()) };
}
