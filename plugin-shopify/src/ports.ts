import type { BalanceBody, TenantConfig, UsageBody } from '@atelier/protocol';

/**
 * What the app needs from the platform it is mounted in, and nothing more: the server
 * passes these in, built on its own services (tenants, suspension, deletion, shopper
 * sessions), so a shop's tenant is made and ended exactly as any other tenant.
 */
export interface ShopTenants {
  /** A new tenant for a shop: its id and the publishable key the storefront widget uses. */
  create(input: { name: string; origins: string[] }): Promise<{ tenantId: string; publishableKey: string }>;
  /** Back to active after a reinstall; renames and re-origins it in the same step. */
  reactivate(tenantId: string, changes: { name: string; origins: string[] }): Promise<void>;
  /** Suspends it (its keys stop working and its queued work stops being dispatched). */
  suspend(tenantId: string): Promise<void>;
  /** Keeps the tenant's name and origins in step with the shop's. */
  rename(tenantId: string, changes: { name: string; origins: string[] }): Promise<void>;
  /** Deletes everything of the tenant (idempotent). */
  delete(tenantId: string): Promise<void>;
  /** Stops the tenant's queued jobs and hands their reserved credits back; the count stopped. */
  stopQueuedWork(tenantId: string): Promise<number>;
}

export interface ShopperSessionsPort {
  mint(
    tenantId: string,
    input: { shopperId?: string; expiresInSeconds?: number; quota?: { generationsPerDay?: number } },
  ): Promise<{ token: string; expiresAt: string; shopperId: string }>;
}

/** One generation of a shopper's, as a data export hands it over. */
export interface ShopperGeneration {
  id: string;
  status: string;
  /** What the shopper asked for (the prompt included). */
  params: Record<string, unknown>;
  createdAt: string;
  finishedAt: string | null;
  /** Each image's link, valid until `expiresAt`. */
  images: { id: string; url: string; width: number; height: number; format: string; expiresAt: string }[];
}

/**
 * The compliance request an export or a deletion answers: the platform writes its topic
 * and id into the tenant's audit log beside the counts (never the customer's data).
 */
export interface ComplianceRequest {
  topic: 'customers/data_request' | 'customers/redact';
  /** The export's id (`dxp_…`) for a data request, Shopify's event id for a redaction. */
  id: string;
}

/** One shopper's data inside a tenant, for the customer compliance webhooks. */
export interface ShopperData {
  /** Ids of the shopper's generations (`customers/data_request`). */
  list(tenantId: string, shopperId: string): Promise<string[]>;
  /**
   * The shopper's generations, with image links valid for `linkTtlSeconds` (a data
   * export); recorded as `data.exported` in the tenant's audit log.
   */
  export(tenantId: string, shopperId: string, linkTtlSeconds: number, request: ComplianceRequest): Promise<ShopperGeneration[]>;
  /**
   * Deletes the shopper's generations and their files; how many were deleted. Recorded as
   * `data.deleted` in the tenant's audit log.
   */
  forget(tenantId: string, shopperId: string, request: ComplianceRequest): Promise<number>;
}

/**
 * A shop tenant's Atelier plan and credits, as its app subscription decides them (billing).
 * Plans are the platform's (`free`, `basic`, `pro`, `enterprise`).
 */
export interface TenantBilling {
  /** Puts the tenant on `plan`. */
  changePlan(tenantId: string, plan: string): Promise<void>;
  /**
   * Adds `plan`'s included credits for `period`, once per `period.key` however many
   * paths grant it (the server's hourly run grants the same key); true when this call
   * made the grant.
   */
  grantIncluded(tenantId: string, plan: string, period: CreditPeriod): Promise<boolean>;
  /**
   * Adds credits bought as usage beyond the plan, once per `key` (a repeat answers the
   * first); returns the id of the ledger entry that holds them.
   */
  addCredits(tenantId: string, input: { amount: number; key: string; reason: string }): Promise<{ entryId: string }>;
}

/**
 * A job the tenant's credits do not cover, as the server asks the app about it before
 * refusing it (see `ShopBilling.cover`); the server's `ShortfallCover` has this shape.
 */
export interface CreditShortfall {
  tenantId: string;
  jobId: string;
  required: number;
  available: number;
}

/**
 * One period of a plan's included credits (the server's `CreditPeriod`): `key` is the
 * grant's ledger key, `label` names the period in the grant's reason.
 */
export interface CreditPeriod {
  key: string;
  label: string;
  /** The plan whose credits the period gets (the subscription's, ahead of the tenant's plan field). */
  plan?: string;
}

export type ShortfallAnswer = { covered: true } | { covered: false; detail?: string; details?: Record<string, unknown> };

export interface ShopifyPorts {
  tenants: ShopTenants;
  shopperSessions: ShopperSessionsPort;
  shoppers: ShopperData;
  billing: TenantBilling;
  settings: TenantSettingsPort;
  credits: CreditsPort;
  results: ShopperResultsPort;
}

/**
 * The tenant's configuration, through the same service (and so the same validation) as
 * `GET/PUT /v1/config`: a refused patch throws the platform's 400 or 403 naming the field.
 */
export interface TenantSettingsPort {
  get(tenantId: string): Promise<TenantConfig>;
  /** Applies a JSON merge patch (RFC 7396); answers the configuration in effect. */
  update(tenantId: string, patch: unknown): Promise<TenantConfig>;
}

/** The tenant's plan and credits (`GET /v1/balance`, `GET /v1/usage`). */
export interface CreditsPort {
  account(tenantId: string): Promise<{ plan: string; monthlyCredits: number; balance: BalanceBody }>;
  /** Settled work per UTC day, `from` and `to` (`YYYY-MM-DD`) inclusive. */
  usage(tenantId: string, from: string, to: string): Promise<UsageBody>;
}

/** One picture a shopper made, as the merchant's admin shows it. */
export interface ShopperResult {
  generationId: string;
  imageId: string;
  /** A signed URL that works without credentials (Shopify fetches it for product media). */
  url: string;
  width: number;
  height: number;
  /** null: an anonymous shopper. */
  shopperId: string | null;
  prompt: string;
  createdAt: string;
}

export interface ShopperResultsPort {
  /** The tenant's newest succeeded generations' images, newest first. */
  recent(tenantId: string, limit: number): Promise<ShopperResult[]>;
  /** One image of the tenant, if it exists. */
  find(tenantId: string, imageId: string): Promise<ShopperResult | undefined>;
  /**
   * The image if the shopper a shopper-session token names made it (the token checked
   * as the realtime socket checks it); undefined for anyone else's or a bad token.
   */
  ownedBy(tenantId: string, sessionToken: string, imageId: string): Promise<ShopperResult | undefined>;
}
