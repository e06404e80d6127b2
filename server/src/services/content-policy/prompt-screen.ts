import type { TenantConfig } from '@atelier/protocol';
import { AppError } from '../../errors/app-error.js';
import type { AuditActor } from '../../models/audit-event.model.js';
import type { AuditLog } from '../audit-log.js';
import { sha256 } from '../ids.js';
import { PromptPolicy } from './prompt-policy.js';

/** The texts of a request that describe the image (a negative prompt says what to avoid, so it may name anything). */
export interface PromptTexts {
  prompt: string;
  prompt2?: string | undefined;
}

/**
 * Screens a request's prompts before anything is reserved or stored: a refused prompt is
 * a 422 `content_policy` naming its category, costs nothing, and is written to the
 * tenant's audit log with what matched, the prompt's length and SHA-256, and its text
 * only if the tenant asked for that (`contentPolicy.auditPromptText`).
 */
export class PromptScreen {
  private readonly policy = new PromptPolicy();

  constructor(private readonly deps: { audit: Pick<AuditLog, 'record'> }) {}

  async screen(texts: PromptTexts, config: TenantConfig, actor: AuditActor): Promise<void> {
    const fields = Object.entries(texts).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    for (const [field, text] of fields) {
      const refusal = this.policy.check([text], config.contentPolicy);
      if (!refusal) continue;
      await this.deps.audit.record('content.refused', {
        actor,
        details: {
          field,
          category: refusal.category,
          matched: refusal.matched,
          length: text.length,
          sha256: sha256(text),
          ...(config.contentPolicy.auditPromptText && { text }),
        },
      });
      throw new AppError(
        'content_policy',
        `The ${field === 'prompt' ? 'prompt' : field} is not allowed here (${refusal.category}).`,
        {
          details: { field, category: refusal.category },
        },
      );
    }
  }
}
