import { CODE_MESSAGES, REFUSAL_REASONS, isCode } from '@atelier/protocol';
import type { Translator } from '../i18n/translator.js';
import type { ConnectionState } from '../realtime/realtime-client.js';
import { type JobView, isBusy } from './job-state.js';
import type { PromptCheck } from './validate-prompt.js';

function connectionText(i18n: Translator, connection: ConnectionState, now: number): string | null {
  switch (connection.status) {
    case 'connecting':
      return i18n.t(connection.attempt === 0 ? 'connecting' : 'reconnecting');
    case 'reconnecting': {
      const seconds = Math.max(1, Math.ceil((connection.retryAt - now) / 1000));
      return i18n.t('unreachable', { wait: i18n.duration(seconds) });
    }
    default:
      return null;
  }
}

function jobText(i18n: Translator, job: JobView): string {
  switch (job.phase) {
    case 'idle':
    case 'failed':
      return '';
    case 'sending':
      return i18n.t('sending');
    case 'accepted':
      return i18n.t('accepted');
    case 'queued': {
      const queue = job.queue!;
      if (queue.runners === 0) return i18n.t('waitingForGpu');
      if (queue.etaSeconds === null) return i18n.t('queued', { position: queue.position });
      return i18n.t('queuedEta', { position: queue.position, eta: i18n.duration(queue.etaSeconds) });
    }
    case 'running': {
      const { step, steps, stage } = job.progress!;
      if (stage === 'sampling') return i18n.t('stageSampling', { step, steps });
      if (stage === 'queued') return i18n.t('accepted');
      const key = `stage${stage[0]!.toUpperCase()}${stage.slice(1)}`;
      return i18n.has(key) ? i18n.t(key) : i18n.t('stageSampling', { step, steps });
    }
    case 'completed':
      return job.images.length > 0 ? i18n.t('done', { n: job.images.length }) : '';
  }
}

/**
 * What the screen-reader live region says: milestones only (queued, started, halfway,
 * done, the shopper's pick), never each step, which the visible status line shows.
 * Errors are announced by the error line itself (`role="alert"`).
 */
export function milestoneText(i18n: Translator, job: JobView, selected: number): string {
  if (selected >= 0) return i18n.t('announceSelected', { n: selected + 1 });
  switch (job.phase) {
    case 'queued':
      return i18n.t('announceQueued');
    case 'running': {
      const { step, steps } = job.progress!;
      return i18n.t(steps > 0 && step * 2 >= steps ? 'announceHalfway' : 'announceStarted');
    }
    case 'completed':
      return job.images.length > 0 ? i18n.t('done', { n: job.images.length }) : '';
    default:
      return '';
  }
}

/**
 * The status line. Connection trouble wins while it matters: always once a
 * retry is under way, and while a shopper waits on a job; a first connect on
 * page load is not worth a flicker of text.
 */
export function statusText(i18n: Translator, connection: ConnectionState, job: JobView, now: number): string {
  const trouble = connection.status === 'reconnecting' || (connection.status === 'connecting' && connection.attempt > 0);
  if (trouble || (isBusy(job) && connection.status === 'connecting')) {
    return connectionText(i18n, connection, now) ?? '';
  }
  if (isBusy(job) && connection.status === 'idle') return i18n.t('connecting');
  return jobText(i18n, job);
}

export interface ErrorInputs {
  hasKey: boolean;
  validation: PromptCheck | null;
  connection: ConnectionState;
  job: JobView;
}

/** The one error to show, most actionable first; null when all is well. */
export function errorText(i18n: Translator, { hasKey, validation, connection, job }: ErrorInputs): string | null {
  if (validation && !validation.ok) {
    return validation.reason === 'empty'
      ? i18n.t('errorEmptyPrompt')
      : i18n.t('errorPromptTooLong', { length: validation.length, max: validation.max });
  }
  if (!hasKey) return i18n.t('errorNotConfigured');
  if (connection.status === 'refused') return i18n.t('errorRefused');
  if (connection.status === 'invalid') return i18n.t('errorInvalidServer');
  if (job.phase === 'failed' && job.error) {
    // The registry says which of our own messages a code leads to; a code this widget
    // does not know yet falls back to the server's words.
    const { code, reason } = job.error;
    // A reason says more than its code (the shop paused picture-making, not "no credits").
    if (reason && Object.hasOwn(REFUSAL_REASONS, reason)) return i18n.t(REFUSAL_REASONS[reason]);
    if (isCode(code)) return i18n.t(CODE_MESSAGES[code]);
    return job.error.message || i18n.t('errorGeneric');
  }
  return null;
}
