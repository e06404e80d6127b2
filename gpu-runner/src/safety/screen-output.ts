import { DEFAULT_NSFW_THRESHOLD } from '@atelier/protocol';
import { PipelineError } from '../errors/pipeline-error.js';
import { moduleLogger } from '../logging/logger.js';
import type { OutputClassifier } from './output-classifier.js';

const log = moduleLogger('output-classifier');

/**
 * Refuses a result the classifier scores above the tenant's threshold (`content_policy`,
 * never retried) before it is watermarked or encoded, so no copy of it exists outside the
 * runner's memory. A threshold of 0 refuses every image, 1 none.
 */
export async function screenOutput(
  classifier: OutputClassifier | undefined,
  rgb: Buffer,
  width: number,
  height: number,
  threshold: number = DEFAULT_NSFW_THRESHOLD,
): Promise<void> {
  if (!classifier) return;
  const score = await classifier.score(rgb, width, height);
  if (score > threshold || threshold === 0) {
    log.warn({ score, threshold }, 'result refused by the output classifier');
    throw new PipelineError(
      'content_policy',
      `the image scored ${score.toFixed(3)} on the output classifier, above the content policy's threshold of ${threshold}; it was discarded`,
    );
  }
  log.debug({ score, threshold }, 'result passed the output classifier');
}
