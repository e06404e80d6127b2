/** A job the tenant's available credits do not cover, as the ledger refused it. */
export interface Shortfall {
  tenantId: string;
  jobId: string;
  /** The job's price. */
  required: number;
  available: number;
}

/**
 * What an integration answers for a shortfall: `covered` when it has added the missing
 * credits to the tenant's ledger (the reservation is tried again), otherwise why not,
 * for the refusal's detail (undefined: the tenant is not the integration's, refused as usual).
 */
export type ShortfallAnswer = { covered: true } | { covered: false; detail?: string; details?: Record<string, unknown> };

export interface ShortfallCover {
  cover(shortfall: Shortfall): Promise<ShortfallAnswer>;
}

/**
 * The one place an integration may step in before a job is refused for credits: the
 * Shopify app bills a shop's overage as usage charges. The generation service is built
 * before the integrations, so they register here later; with none registered every
 * tenant is refused exactly as before.
 */
export class CreditShortfall implements ShortfallCover {
  private readonly covers: ShortfallCover[] = [];

  use(cover: ShortfallCover): void {
    this.covers.push(cover);
  }

  async cover(shortfall: Shortfall): Promise<ShortfallAnswer> {
    for (const cover of this.covers) {
      const answer = await cover.cover(shortfall);
      if (answer.covered || answer.detail !== undefined) return answer;
    }
    return { covered: false };
  }
}
