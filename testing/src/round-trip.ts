import type { CompletedMessage } from '@atelier/protocol';
import { completeJob, connectRunner, connectWidget, pngBytes } from './protocol-clients.js';

export interface RoundTripParties {
  publishableKey: string;
  /** An origin the tenant allowed. */
  origin: string;
  runnerToken: string;
}

/**
 * One whole generation on real sockets: a widget says hello and asks for a picture, a
 * runner takes the job and answers it with a real PNG, and the widget receives
 * `completed`. Proves that a server still does its job (after abuse, say). Closes its
 * sockets; returns the widget's `completed`.
 */
export async function completeOneGeneration(serverUrl: string, parties: RoundTripParties): Promise<CompletedMessage> {
  const runner = await connectRunner(serverUrl, parties.runnerToken, 'round-trip-runner');
  const { widget } = await connectWidget(serverUrl, parties.publishableKey, parties.origin);
  try {
    const ref = `round-trip-${Date.now()}`;
    widget.send({ type: 'generate', ref, params: { prompt: 'a brass desk lamp on an oak table' } });
    const accepted = await widget.receive('accepted', (message) => message.ref === ref);
    runner.send({ type: 'ready' });
    const job = await runner.receive('job', (message) => message.jobId === accepted.id);
    completeJob(runner, job, [await pngBytes(200, 120, 40)]);
    return await widget.receive('completed', (message) => message.id === accepted.id);
  } finally {
    await Promise.all([widget.close(), runner.close()]);
  }
}
