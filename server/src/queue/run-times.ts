import mongoose from 'mongoose';
import { PERFORMANCES, type Performance } from '@atelier/protocol';
import type { Models } from '../models/index.js';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { createLogger } from '../logging/logger.js';

const { trusted } = mongoose;
const log = createLogger('run-times');

/** Only jobs that finished this recently say how fast the fleet is now. */
const WINDOW_MS = 6 * 60 * 60 * 1000;
/** The most recent successes per preset that the median is taken over. */
const SAMPLES_PER_PRESET = 25;
/** How long one process reuses what it read; every process reads the same jobs, so they agree within it. */
const CACHE_MS = 5_000;
/** Before any job has finished anywhere: a guess per UNet step of one image, on a GPU. */
const DEFAULT_SECONDS_PER_STEP = 0.25;

/** What the expected run time of a job depends on. */
export interface JobShape {
  performance: Performance;
  imageCount: number;
  /** UNet steps per image. */
  steps: number;
}

export interface PresetRate {
  /** Median run time per image of the preset's recent successes. */
  perImage: number;
  /** The same per step of one image, to judge a preset that has no successes yet. */
  perStep: number;
}

/**
 * Recent run times per preset (`performance`), from the jobs that succeeded: `startedAt`
 * (the last attempt's claim) to `finishedAt`. Derived from the database rather than
 * recorded in memory, so every server process estimates alike and a restart forgets
 * nothing; each process caches it for a few seconds. A preset with no recent success is
 * judged by its step count at the other presets' rate per step (or a fixed guess when
 * nothing has run yet).
 */
export class RunTimes {
  private cached: { at: number; rates: Map<Performance, PresetRate> } | undefined;
  private reading: Promise<Map<Performance, PresetRate>> | undefined;

  constructor(private readonly deps: { models: Models; now?: () => Date }) {}

  /** Expected seconds one job of this shape runs, per the rates at hand. */
  static expected(rates: Map<Performance, PresetRate>, job: JobShape): number {
    const own = rates.get(job.performance);
    if (own) return own.perImage * job.imageCount;
    const others = [...rates.values()].map((rate) => rate.perStep);
    const perStep = others.length > 0 ? median(others) : DEFAULT_SECONDS_PER_STEP;
    return perStep * job.steps * job.imageCount;
  }

  /** The current rates (at most `CACHE_MS` old). */
  async rates(): Promise<Map<Performance, PresetRate>> {
    const now = this.now().getTime();
    if (this.cached && now - this.cached.at < CACHE_MS) return this.cached.rates;
    this.reading ??= this.read()
      .then((rates) => {
        this.cached = { at: this.now().getTime(), rates };
        return rates;
      })
      .catch((error: unknown) => {
        // An estimate is not worth failing a request for: keep the last rates.
        log.warn({ err: error }, 'could not read recent run times');
        return this.cached?.rates ?? new Map<Performance, PresetRate>();
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async read(): Promise<Map<Performance, PresetRate>> {
    const since = new Date(this.now().getTime() - WINDOW_MS);
    const rates = new Map<Performance, PresetRate>();
    await runAsSystem('queue estimate: recent run times', () =>
      Promise.all(
        PERFORMANCES.map(async (performance) => {
          const jobs = await this.deps.models.Generation.find({
            status: 'succeeded',
            'resolved.performance': performance,
            finishedAt: trusted({ $gte: since }),
          })
            .sort({ finishedAt: -1 })
            .limit(SAMPLES_PER_PRESET)
            .select({ startedAt: 1, finishedAt: 1, 'resolved.imageCount': 1, 'resolved.steps': 1 })
            .lean();
          const samples = jobs.flatMap((job) => {
            const seconds = (job.finishedAt!.getTime() - (job.startedAt?.getTime() ?? Number.NaN)) / 1000;
            const images = Math.max(1, job.resolved.imageCount);
            return Number.isFinite(seconds) && seconds >= 0
              ? [{ perImage: seconds / images, perStep: seconds / images / Math.max(1, job.resolved.steps) }]
              : [];
          });
          if (samples.length === 0) return;
          rates.set(performance, {
            perImage: median(samples.map((sample) => sample.perImage)),
            perStep: median(samples.map((sample) => sample.perStep)),
          });
        }),
      ),
    );
    return rates;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
