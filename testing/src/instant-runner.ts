import type { RunnerJobMessage, ServerToRunnerMessage } from '@atelier/protocol';
import { completeJob, connectRunner, type RunnerProbe } from './protocol-clients.js';

export interface InstantRunner {
  runnerId: string;
  probe: RunnerProbe;
  /** Every job this runner was handed, in order. */
  readonly jobs: RunnerJobMessage[];
  close(): Promise<void>;
}

/**
 * A runner that speaks the real protocol over a real socket and finishes every job the
 * moment it gets it: the job's images (a real PNG each), `completed`, then `ready`
 * again. For tests about the queue rather than the pipeline.
 */
export async function startInstantRunner(serverUrl: string, token: string, name: string, png: Uint8Array): Promise<InstantRunner> {
  const probe = await connectRunner(serverUrl, token, name);
  const jobs: RunnerJobMessage[] = [];
  probe.ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(String(data)) as ServerToRunnerMessage;
    if (message.type !== 'job') return; // a cancel or lease-lost comes after it was finished already
    jobs.push(message);
    void completeJob(probe, message, Array.from({ length: message.params.imageCount }, () => png)).then(() => probe.send({ type: 'ready' }));
  });
  probe.send({ type: 'ready' });
  return { runnerId: probe.runnerId, probe, jobs, close: async () => void (await probe.close()) };
}
