import type { ServerMessage } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../realtime/realtime-client.js';
import { IDLE_JOB, canRetry, failJob, type JobView, concerns, isBusy, reduceJob, startJob } from './job-state.js';
import { translatorFor } from '../i18n/translator.js';
import { errorText, milestoneText, statusText } from './status-text.js';
import { checkPrompt } from './validate-prompt.js';

const open: ConnectionState = { status: 'open' };
const apply = (job: JobView, ...messages: ServerMessage[]) =>
  messages.reduce((view, message) => (concerns(view, message) ? reduceJob(view, message) : view), job);
const noError = { hasKey: true, validation: null, connection: open };
const en = translatorFor('en');

describe('checkPrompt', () => {
  it('refuses empty, blank and over-long prompts and trims the rest', () => {
    expect(checkPrompt('', 2000)).toEqual({ ok: false, reason: 'empty' });
    expect(checkPrompt(' \n\t ', 2000)).toEqual({ ok: false, reason: 'empty' });
    expect(checkPrompt('x'.repeat(2001), 2000)).toEqual({ ok: false, reason: 'too-long', length: 2001, max: 2000 });
    expect(checkPrompt(` ${'x'.repeat(2000)} `, 2000)).toEqual({ ok: true, prompt: 'x'.repeat(2000) });
  });
});

describe('job view and status line', () => {
  const sent = startJob('r1', 'a lamp');

  it('walks a job from sending to completed', () => {
    expect(statusText(en, open, sent, 0)).toBe('Sending…');
    const accepted = apply(sent, { type: 'accepted', ref: 'r1', id: 'j1', seq: 1, cost: { credits: 2 } });
    expect(accepted.id).toBe('j1');
    const queued = apply(accepted, { type: 'queued', id: 'j1', seq: 2, position: 3, etaSeconds: 42, runners: 1 });
    expect(statusText(en, open, queued, 0)).toBe('In queue — position 3 (about 42 seconds)');
    const slow = apply(accepted, { type: 'queued', id: 'j1', seq: 2, position: 9, etaSeconds: 400, runners: 2 });
    expect(statusText(en, open, slow, 0)).toBe('In queue — position 9 (about 7 minutes)');
    const unknown = apply(accepted, { type: 'queued', id: 'j1', seq: 2, position: 2, etaSeconds: null, runners: 2 });
    expect(statusText(en, open, unknown, 0)).toBe('In queue — position 2');
    const noGpu = apply(accepted, { type: 'queued', id: 'j1', seq: 2, position: 1, etaSeconds: null, runners: 0 });
    expect(statusText(en, open, noGpu, 0)).toMatch(/^Waiting for a GPU to come online/);
    const running = apply(queued, { type: 'progress', id: 'j1', seq: 3, step: 12, steps: 30, stage: 'sampling' });
    expect(statusText(en, open, running, 0)).toBe('Generating… step 12 of 30');
    expect(isBusy(running)).toBe(true);
    const decoding = apply(running, { type: 'progress', id: 'j1', seq: 4, step: 30, steps: 30, stage: 'decoding' });
    expect(statusText(en, open, decoding, 0)).toBe('Developing the picture…');
    const image = { id: 'i1', url: 'https://x/i1.png', width: 1024, height: 768, format: 'png' as const };
    const done = apply(decoding, { type: 'completed', id: 'j1', seq: 5, images: [image] });
    expect(done.phase).toBe('completed');
    expect(done.images).toEqual([image]);
    expect(done.progress).toEqual({ step: 30, steps: 30, stage: 'uploading' });
    expect(isBusy(done)).toBe(false);
  });

  it('ignores other jobs and other requests', () => {
    const other = apply(sent, { type: 'accepted', ref: 'r2', id: 'j2', seq: 1, cost: { credits: 1 } });
    expect(other).toBe(sent);
    const accepted = apply(sent, { type: 'accepted', ref: 'r1', id: 'j1', seq: 1, cost: { credits: 1 } });
    expect(apply(accepted, { type: 'failed', id: 'j2', seq: 2, code: 'internal', message: 'no' })).toBe(accepted);
    expect(apply(accepted, { type: 'error', ref: 'r0', code: 'internal', message: 'no' })).toBe(accepted);
  });

  it("takes a resumed job's state before the answer to its request, and ignores a repeated end", () => {
    const snapshot = apply(sent, { type: 'progress', id: 'j1', ref: 'r1', seq: 7, step: 5, steps: 30, stage: 'sampling' });
    expect(snapshot).toMatchObject({ phase: 'running', id: 'j1' });
    // The request, sent again after the reconnect, is answered after the state came.
    const answered = apply(snapshot, { type: 'accepted', ref: 'r1', id: 'j1', seq: 8, cost: { credits: 1 } });
    expect(answered).toMatchObject({ phase: 'running', id: 'j1', progress: { step: 5 } });
    const done = apply(answered, { type: 'completed', id: 'j1', ref: 'r1', seq: 9, images: [] });
    expect(done.phase).toBe('completed');
    for (const late of [
      { type: 'completed', id: 'j1', ref: 'r1', seq: 10, images: [] },
      { type: 'accepted', ref: 'r1', id: 'j1', seq: 11, cost: { credits: 1 } },
      { type: 'progress', id: 'j1', seq: 12, step: 3, steps: 30, stage: 'sampling' },
      { type: 'error', ref: 'r1', code: 'rate_limited', message: 'slow down' },
    ] satisfies ServerMessage[]) {
      expect(concerns(done, late)).toBe(false);
    }
    // An error about the connection as a whole is still shown.
    expect(concerns(done, { type: 'error', code: 'internal', message: 'no' })).toBe(true);
  });

  it("says each code in the shopper's words the registry names, and a code it does not know in the server's", () => {
    const rejected = apply(sent, { type: 'error', ref: 'r1', code: 'invalid_request', message: 'aspectRatio is not allowed' });
    expect(errorText(en, { ...noError, job: rejected })).toMatch(/^That request could not be used/);
    const limited = apply(sent, { type: 'error', ref: 'r1', code: 'rate_limited', message: 'Rate limit: 10/min' });
    expect(errorText(en, { ...noError, job: limited })).toMatch(/^Too many requests/);
    const failed = apply(
      sent,
      { type: 'accepted', ref: 'r1', id: 'j1', seq: 1, cost: { credits: 1 } },
      {
        type: 'failed',
        id: 'j1',
        seq: 2,
        code: 'inference_failed',
        message: '',
      },
    );
    expect(errorText(en, { ...noError, job: failed })).toBe('Something went wrong. Please try again.');
    // A newer server may send a code this widget predates.
    const newer = failJob(sent, 'quota_exceeded', 'Your daily quota is used up.');
    expect(errorText(en, { ...noError, job: newer })).toBe('Your daily quota is used up.');
    expect(errorText(en, { ...noError, job: IDLE_JOB })).toBeNull();
  });

  it('puts validation, configuration and refusal errors first', () => {
    const validation = checkPrompt('', 10);
    expect(errorText(en, { ...noError, validation, job: IDLE_JOB })).toBe('Describe the picture you want first.');
    expect(errorText(en, { ...noError, validation: checkPrompt('x'.repeat(11), 10), job: IDLE_JOB })).toMatch(
      /11 characters.*10/,
    );
    expect(errorText(en, { ...noError, hasKey: false, job: IDLE_JOB })).toMatch(/no publishable key/);
    const refused: ConnectionState = { status: 'refused', code: 4401, reason: '' };
    expect(errorText(en, { ...noError, connection: refused, job: IDLE_JOB })).toMatch(/refused/);
  });

  it('talks about the connection when it is in trouble or a shopper is waiting', () => {
    const retry: ConnectionState = { status: 'reconnecting', attempt: 2, delayMs: 4000, retryAt: 10_000, closeCode: 1006 };
    expect(statusText(en, retry, IDLE_JOB, 6_200)).toBe("Can't reach the studio — retrying in 4 seconds");
    expect(statusText(en, retry, IDLE_JOB, 9_990)).toBe("Can't reach the studio — retrying in 1 second");
    expect(statusText(en, { status: 'connecting', attempt: 0 }, IDLE_JOB, 0)).toBe('');
    expect(statusText(en, { status: 'connecting', attempt: 0 }, sent, 0)).toBe('Connecting to the studio…');
    expect(statusText(en, { status: 'connecting', attempt: 3 }, IDLE_JOB, 0)).toBe('Reconnecting to the studio…');
  });
});

describe('in other languages', () => {
  const sent = startJob('r1', 'eine Lampe');

  it('says queue, steps, milestones and errors in the locale, with its numbers, plurals and durations', () => {
    const de = translatorFor('de');
    const accepted = apply(sent, { type: 'accepted', ref: 'r1', id: 'j1', seq: 1, cost: { credits: 2 } });
    const queued = apply(accepted, { type: 'queued', id: 'j1', seq: 2, position: 1200, etaSeconds: 150, runners: 1 });
    expect(statusText(de, open, queued, 0)).toBe('In der Warteschlange – Position 1.200 (etwa 3 Minuten)');
    expect(milestoneText(de, queued, -1)).toBe('Ihre Anfrage ist in der Warteschlange.');
    const running = apply(queued, { type: 'progress', id: 'j1', seq: 3, step: 4, steps: 8, stage: 'sampling' });
    expect(statusText(de, open, running, 0)).toBe('Bild wird erstellt … Schritt 4 von 8');
    expect(milestoneText(de, running, -1)).toBe('Schon zur Hälfte fertig …');
    const image = (id: string) => ({ id, url: `https://x/${id}.png`, width: 1024, height: 1024, format: 'png' as const });
    const one = apply(running, { type: 'completed', id: 'j1', seq: 4, images: [image('i1')] });
    expect(statusText(de, open, one, 0)).toBe('Fertig – Ihr Bild ist da.');
    const two = apply(running, { type: 'completed', id: 'j1', seq: 4, images: [image('i1'), image('i2')] });
    expect(milestoneText(de, two, -1)).toBe('Fertig – 2 Bilder sind da. Wählen Sie Ihren Favoriten.');
    expect(milestoneText(translatorFor('ja'), two, 1)).toBe('2枚目の画像を選びました。');
    const retry: ConnectionState = { status: 'reconnecting', attempt: 1, delayMs: 1000, retryAt: 1_000, closeCode: 1006 };
    // French puts a no-break space between number and unit.
    expect(statusText(translatorFor('fr'), retry, IDLE_JOB, 0)).toBe(
      'Studio injoignable — nouvelle tentative dans 1\u00a0seconde',
    );
    const limited = apply(sent, { type: 'error', ref: 'r1', code: 'rate_limited', message: 'Rate limit: 10/min' });
    expect(errorText(translatorFor('es'), { ...noError, job: limited })).toMatch(/^Hay demasiadas solicitudes/);
  });

  it('says the shop paused picture-making, not that it is out of credits, when a refusal gives the cap or plan as reason', () => {
    const paused = {
      en: 'This shop has paused picture-making for now.',
      de: 'Dieser Shop hat das Erstellen von Bildern vorerst pausiert.',
      fr: 'Cette boutique a suspendu la création d’images pour le moment.',
      es: 'Esta tienda ha pausado la creación de imágenes por ahora.',
      ja: 'このショップは現在、画像の作成を一時停止しています。',
    };
    const refusal = (reason?: 'usage_cap_reached' | 'plan_credits_used') =>
      apply(sent, {
        type: 'error',
        ref: 'r1',
        code: 'insufficient_credits',
        message: "This job would pass the shop's usage cap",
        ...(reason ? { reason } : {}),
      });
    for (const [locale, text] of Object.entries(paused)) {
      const i18n = translatorFor(locale);
      expect(errorText(i18n, { ...noError, job: refusal('usage_cap_reached') }), locale).toBe(text);
      expect(errorText(i18n, { ...noError, job: refusal('plan_credits_used') }), locale).toBe(text);
      // Without a reason it stays the studio's own shortage.
      expect(errorText(i18n, { ...noError, job: refusal() }), locale).toBe(i18n.t('errorInsufficientCredits'));
      expect(i18n.t('errorInsufficientCredits'), locale).not.toBe(text);
    }
  });

  it("says a shopper's pictures for the day are made, and offers no Try again, when a rate limit gives the daily quota as reason", () => {
    const tomorrow = {
      en: 'You have made all your pictures for today here. Come back tomorrow for more.',
      de: 'Sie haben hier für heute alle Ihre Bilder erstellt. Morgen geht es weiter.',
      fr: 'Vous avez créé toutes vos images du jour ici. Revenez demain pour en créer d’autres.',
      es: 'Ya has creado todas tus imágenes de hoy aquí. Vuelve mañana para crear más.',
      ja: '本日作成できる画像の上限に達しました。また明日お試しください。',
    };
    const refusal = (reason?: 'daily_quota') =>
      apply(sent, {
        type: 'error',
        ref: 'r1',
        code: 'rate_limited',
        message: "You have made today's 2 pictures here; more tomorrow.",
        retryAfter: 30_000,
        ...(reason ? { reason } : {}),
      });
    for (const [locale, text] of Object.entries(tomorrow)) {
      const i18n = translatorFor(locale);
      expect(errorText(i18n, { ...noError, job: refusal('daily_quota') }), locale).toBe(text);
      // Without a reason it stays a busy moment, which passes.
      expect(errorText(i18n, { ...noError, job: refusal() }), locale).toBe(i18n.t('errorRateLimited'));
    }
    expect(canRetry(refusal('daily_quota'))).toBe(false);
    expect(canRetry(refusal())).toBe(true);
  });

  it("uses the tenant's words where it has some", () => {
    const tenant = translatorFor('de', { de: { stageSampling: 'Wir zaubern … {step}/{steps}' } });
    const running = apply(sent, { type: 'progress', id: 'j1', ref: 'r1', seq: 1, step: 3, steps: 30, stage: 'sampling' });
    expect(statusText(tenant, open, running, 0)).toBe('Wir zaubern … 3/30');
    expect(statusText(translatorFor('de'), open, running, 0)).toBe('Bild wird erstellt … Schritt 3 von 30');
  });
});
