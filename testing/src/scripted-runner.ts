import type { RunnerCancelMessage, RunnerJobMessage, RunnerLeaseLostMessage, ServerToRunnerMessage } from '@atelier/protocol';
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
    onJob: (probe, job) => {
      completeJob(
        probe,
        job,
        Array.from({ length: job.params.imageCount }, () => png),
      );
      probe.send({ type: 'ready' });
    },
    // A cancel can only come after it finished the job and asked for the next one.
    onCancel: () => undefined,
  });
}

/**
 * A runner that keeps every job it gets running until the job is cancelled: it only
 * heartbeats it, as a real runner does while it works. Cancelled (or told it lost the
 * lease), it says `ready` for the next one, as the real runner does.
 */
export async function startHoldingRunner(serverUrl: string, token: string, name: string): Promise<ScriptedRunner> {
  let current: RunnerJobMessage | undefined;
  let timer: NodeJS.Timeout | undefined;
  const letGo = (probe: RunnerProbe, jobId: string) => {
    if (current?.jobId !== jobId) return;
    current = undefined;
    probe.send({ type: 'ready' });
  };
  const runner = await startScriptedRunner(serverUrl, token, name, {
    onJob: (probe, job) => {
      current = job;
      const heartbeatMs = probe.received('welcome')[0]!.heartbeatMs;
      timer ??= setInterval(() => {
        if (current && probe.isOpen) probe.send({ type: 'heartbeat', jobId: current.jobId, epoch: current.epoch });
      }, heartbeatMs);
    },
    onCancel: (probe, cancel) => letGo(probe, cancel.jobId),
    onLeaseLost: (probe, lost) => letGo(probe, lost.jobId),
  });
  return {
    ...runner,
    close: async () => {
      clearInterval(timer);
      await runner.close();
    },
  };
}

interface Script {
  onJob(probe: RunnerProbe, job: RunnerJobMessage): unknown;
  onCancel(probe: RunnerProbe, cancel: RunnerCancelMessage): unknown;
  onLeaseLost?(probe: RunnerProbe, lost: RunnerLeaseLostMessage): unknown;
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
    } else if (message.type === 'lease-lost') {
      void script.onLeaseLost?.(probe, message);
    }
  });
  probe.send({ type: 'ready' });
  return { runnerId: probe.runnerId, probe, jobs, cancels, close: async () => void (await probe.close()) };
}
