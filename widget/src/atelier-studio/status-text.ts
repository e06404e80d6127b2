import { CODE_MESSAGES, isCode } from '@atelier/protocol';
import { hasMessage, message } from '../i18n/messages.js';
import type { ConnectionState } from '../realtime/realtime-client.js';
import { type JobView, isBusy } from './job-state.js';
import type { PromptCheck } from './validate-prompt.js';

/** "about 45 s" / "about 3 min": queue estimates are rough, so no finer than that. */
export function duration(locale: string, seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  return s < 90 ? message(locale, 'seconds', { n: s }) : message(locale, 'minutes', { n: Math.round(s / 60) });
}

function connectionText(locale: string, connection: ConnectionState, now: number): string | null {
  switch (connection.status) {
    case 'connecting':
      return message(locale, connection.attempt === 0 ? 'connecting' : 'reconnecting');
    case 'reconnecting': {
      const seconds = Math.max(1, Math.ceil((connection.retryAt - now) / 1000));
      return message(locale, 'unreachable', { seconds });
    }
    default:
      return null;
  }
}

function jobText(locale: string, job: JobView): string {
  switch (job.phase) {
    case 'idle':
    case 'failed':
      return '';
    case 'sending':
      return message(locale, 'sending');
    case 'accepted':
      return message(locale, 'accepted');
    case 'queued': {
      const queue = job.queue!;
      if (queue.runners === 0) return message(locale, 'waitingForGpu');
      if (queue.etaSeconds === null) return message(locale, 'queued', { position: queue.position });
      return message(locale, 'queuedEta', { position: queue.position, eta: duration(locale, queue.etaSeconds) });
    }
    case 'running': {
      const { step, steps, stage } = job.progress!;
      if (stage === 'sampling') return message(locale, 'stageSampling', { step, steps });
      if (stage === 'queued') return message(locale, 'accepted');
      const key = `stage${stage[0]!.toUpperCase()}${stage.slice(1)}`;
      return hasMessage(locale, key) ? message(locale, key) : message(locale, 'stageSampling', { step, steps });
    }
    case 'completed':
      return job.images.length > 0 ? message(locale, 'done') : '';
  }
}

/**
 * What the screen-reader live region says: milestones only (queued, started, halfway,
 * done, the shopper's pick), never each step, which the visible status line shows.
 * Errors are announced by the error line itself (`role="alert"`).
 */
export function milestoneText(locale: string, job: JobView, selected: number): string {
  if (selected >= 0) return message(locale, 'announceSelected', { n: selected + 1 });
  switch (job.phase) {
    case 'queued':
      return message(locale, 'announceQueued');
    case 'running': {
      const { step, steps } = job.progress!;
      return message(locale, steps > 0 && step * 2 >= steps ? 'announceHalfway' : 'announceStarted');
    }
    case 'completed':
      return job.images.length > 0 ? message(locale, 'done') : '';
    default:
      return '';
  }
}

/**
 * The status line. Connection trouble wins while it matters: always once a
 * retry is under way, and while a shopper waits on a job; a first connect on
 * page load is not worth a flicker of text.
 */
export function statusText(locale: string, connection: ConnectionState, job: JobView, now: number): string {
  const trouble = connection.status === 'reconnecting' || (connection.status === 'connecting' && connection.attempt > 0);
  if (trouble || (isBusy(job) && connection.status === 'connecting')) {
    return connectionText(locale, connection, now) ?? '';
  }
  if (isBusy(job) && connection.status === 'idle') return message(locale, 'connecting');
  return jobText(locale, job);
}

export interface ErrorInputs {
  hasKey: boolean;
  validation: PromptCheck | null;
  connection: ConnectionState;
  job: JobView;
}

/** The one error to show, most actionable first; null when all is well. */
export function errorText(locale: string, { hasKey, validation, connection, job }: ErrorInputs): string | null {
  if (validation && !validation.ok) {
    return validation.reason === 'empty'
      ? message(locale, 'errorEmptyPrompt')
      : message(locale, 'errorPromptTooLong', { length: validation.length, max: validation.max });
  }
  if (!hasKey) return message(locale, 'errorNotConfigured');
  if (connection.status === 'refused') return message(locale, 'errorRefused');
  if (connection.status === 'invalid') return message(locale, 'errorInvalidServer');
  if (job.phase === 'failed' && job.error) {
    // The registry says which of our own messages a code leads to; a code this widget
    // does not know yet falls back to the server's words.
    const { code } = job.error;
    if (isCode(code)) return message(locale, CODE_MESSAGES[code]);
    return job.error.message || message(locale, 'errorGeneric');
  }
  return null;
}
