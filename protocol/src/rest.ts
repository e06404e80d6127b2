/**
 * REST bodies (server/docs/openapi.json describes them for HTTP clients). Errors are
 * `Problem` (codes.ts).
 */
import type { Code } from './codes.js';
import type { KeyKind, KeyMode, KeyScope } from './credentials.js';
import type { GenerationParams, JobProgress, JobStatus, Performance, PublicImage, QueueEstimate } from './generation.js';
import type { RunnerCapabilities } from './runner.js';

/** `202` answer to `POST /v1/generations`. */
export interface CreatedGenerationBody {
  id: string;
  status: JobStatus;
  queue: Pick<QueueEstimate, 'position' | 'etaSeconds'>;
  cost: { credits: number };
}

/** `GET /v1/generations/:id`, and each item of the list. */
export interface GenerationBody {
  id: string;
  status: JobStatus;
  createdAt: string;
  params: GenerationParams;
  /** The seed used: the request's, or the one picked for it; image i used `seed + i`. */
  seed: number;
  progress: JobProgress;
  /** While queued (the single-job view; a list leaves it out, see the OpenAPI document). */
  queue?: QueueEstimate;
  cost: { credits: number };
  images: PublicImage[];
  error: { code: Code; message: string } | null;
  /** The shopper a widget job was made for (from their shopper session); null otherwise. */
  shopperId: string | null;
}

/** `GET /v1/generations`: newest first; pass `nextCursor` as `cursor` for the next page. */
export interface GenerationListBody {
  data: GenerationBody[];
  nextCursor: string | null;
}

/**
 * `GET /v1/images/:id`: one generated image, with a fresh signed URL as the generation's
 * view gives it (bound to the shopper for a shopper's image).
 */
export interface ImageBody extends PublicImage {
  generationId: string;
  /** Its place among its generation's images (0-based). */
  index: number;
  /** The seed this image was made with. */
  seed: number;
  /** Size of the stored file. */
  bytes: number;
  /** Hex SHA-256 of the stored file; null for images stored before hashes were recorded. */
  sha256: string | null;
  /** The shopper the generation was made for (from their shopper session); null otherwise. */
  shopperId: string | null;
  /** When it was stored: its generation finished, ISO 8601. */
  createdAt: string;
}

/** A tenant's API key as `GET /v1/keys` lists it: never the secret itself. */
export interface KeyBody {
  id: string;
  kind: KeyKind;
  mode: KeyMode;
  /** Enough of the key to tell it apart: `sk_live_…Wx4z`. */
  hint: string;
  label: string;
  /** Empty for publishable keys (they open only the widget socket). */
  scopes: KeyScope[];
  /** null: the plan's limit applies. */
  requestsPerMinute: number | null;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  /** Set once the key was rotated: the key that replaces it. */
  rotatedTo: string | null;
  /** Issued before keys were checksummed; rotate it to get a checksummed one. */
  legacy: boolean;
}

export interface KeyListBody {
  data: KeyBody[];
  nextCursor: string | null;
}

/** `POST /v1/keys` and `POST /v1/keys/:id/rotate`: the new key, whose secret is shown this once. */
export interface CreatedKeyBody extends KeyBody {
  key: string;
}

/** `POST /v1/sessions`: a shopper session for the widget's `session-token` attribute. */
export interface ShopperSessionBody {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
  shopperId: string;
}

/** `POST /admin/v1/tenants` (CONTRACT.md); the keys are shown this once. */
export interface CreatedTenantBody {
  tenantId: string;
  name: string;
  plan: string;
  origins: string[];
  secretKey: string;
  publishableKey: string;
  /** Where its files live in storage (`tenants/<tenantId>/`); deleting the tenant removes it. */
  storagePrefix: string;
}

export const TENANT_STATUSES = ['active', 'suspended', 'deleted'] as const;
/** `suspended` refuses all new work at once; `deleted` is a tombstone whose data is gone. */
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export interface TenantBody {
  tenantId: string;
  name: string;
  plan: string;
  origins: string[];
  status: TenantStatus;
  createdAt: string;
  /** Where its files live in storage (`tenants/<tenantId>/`). */
  storagePrefix: string;
}

/** `DELETE /admin/v1/tenants/:id`: what was removed. */
export interface DeletedTenantBody {
  tenantId: string;
  status: 'deleted';
  deletedAt: string;
  /** Documents removed, by collection. */
  documents: Record<string, number>;
  /** Files removed from the tenant's storage prefix. */
  files: number;
  /** What the deletion could not do, for the operator to act on (e.g. a Shopify subscription left active). */
  warnings: string[];
}

/**
 * What a tenant's audit log records (`GET /v1/audit-events?action=`). Add to this list;
 * never reuse a name for something else.
 */
export const AUDIT_ACTIONS = [
  'tenant.created',
  'tenant.updated',
  'tenant.suspended',
  'tenant.reactivated',
  'tenant.deleted',
  'plan.changed',
  'config.changed',
  'key.created',
  'key.rotated',
  'key.revoked',
  'credits.granted',
  'data.exported',
  'data.deleted',
  'content.refused',
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.secret_rotated',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * What the platform audit log records (`GET /admin/v1/audit-events?action=`): operator
 * actions that belong to no tenant. Add to this list; never reuse a name for something else.
 */
export const PLATFORM_AUDIT_ACTIONS = ['plan.updated', 'runner_token.created', 'session_key.rotated'] as const;
export type PlatformAuditAction = (typeof PLATFORM_AUDIT_ACTIONS)[number];

/** Who did it: a tenant's key, a shopper's widget session, the operator (admin API or CLI), the platform itself, or Shopify. */
export const AUDIT_ACTOR_KINDS = ['key', 'widget', 'admin', 'cli', 'system', 'shopify'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];

/** One entry of a tenant's audit log, or of the platform's (append-only: no route changes one). */
export interface AuditEventBody<Action extends string = AuditAction> {
  id: string;
  /** ISO 8601. */
  at: string;
  action: Action;
  /** `id`: the key's for `key`, the widget session's for `widget`; absent otherwise. */
  actor: { kind: AuditActorKind; id?: string };
  /** What it was done to, e.g. `{kind: 'key', id: 'key_…'}`. */
  target: { kind: string; id: string } | null;
  /** Safe facts only (counts, ids, field names): never a secret, never a prompt unless the tenant asked for it. */
  details: Record<string, unknown>;
}

/** `GET /v1/audit-events`, `GET /admin/v1/tenants/:id/audit-events`: newest first; pass `nextCursor` as `cursor`. */
export interface AuditEventListBody<Action extends string = AuditAction> {
  data: AuditEventBody<Action>[];
  nextCursor: string | null;
}

/** One entry of the platform audit log: its actor is the operator (`admin`, `cli`) or the platform (`system`). */
export type PlatformAuditEventBody = AuditEventBody<PlatformAuditAction>;

/** `GET /admin/v1/audit-events`: newest first, paged as the tenant's log is. */
export type PlatformAuditEventListBody = AuditEventListBody<PlatformAuditAction>;

/** The plans every deployment has; an operator edits their limits, not their names. */
export const PLAN_NAMES = ['free', 'basic', 'pro', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** `GET /admin/v1/plans`, `PUT /admin/v1/plans/:name`. */
export interface PlanBody {
  name: PlanName;
  /** Credits granted each month (and at onboarding). */
  monthlyCredits: number;
  /** Performance presets the plan includes. */
  presets: Performance[];
  requestsPerMinute: number;
  concurrentJobs: number;
  maxImagesPerRequest: number;
  /** Largest output, width × height. */
  maxPixels: number;
  /** Every image is watermarked, whatever the tenant's configuration says. */
  forcedWatermark: boolean;
  /** Weight in the dispatcher's fair share: higher is served more often. */
  queuePriority: number;
  updatedAt: string;
}

/** `GET /v1/balance`. Credits are integers; `available = balance − reserved`. */
export interface BalanceBody {
  balance: number;
  reserved: number;
  available: number;
}

/**
 * Ledger movements: `grant` adds credits; a job's price is `reserve`d at acceptance and
 * then `settle`d (charged), `release`d (failure, cancellation) or `expire`d (deadline).
 */
export const CREDIT_ENTRY_KINDS = ['grant', 'reserve', 'settle', 'release', 'expire'] as const;
export type CreditEntryKind = (typeof CREDIT_ENTRY_KINDS)[number];

export interface CreditEntryBody {
  seq: number;
  kind: CreditEntryKind;
  /** Change of the balance (a settlement is negative). */
  amount: number;
  /** Change of the reserved credits. */
  reservedChange: number;
  /** Running totals after this entry. */
  balance: number;
  reserved: number;
  jobId: string | null;
  reason: string;
  at: string;
}

/** `POST /admin/v1/tenants/:id/credits`. */
export interface CreditGrantBody {
  entry: CreditEntryBody;
  balance: BalanceBody;
}

/** `GET /admin/v1/tenants/:id/credits`: newest first; pass `nextCursor` as `cursor`. */
export interface CreditEntryListBody {
  balance: BalanceBody;
  data: CreditEntryBody[];
  nextCursor: string | null;
}

export interface UsageFigures {
  credits: number;
  images: number;
  generations: number;
}

/** `GET /v1/usage`: settled work per UTC day and per preset; every day of the range is listed. */
export interface UsageBody {
  from: string;
  to: string;
  total: UsageFigures;
  days: (UsageFigures & { date: string; presets: Record<Performance, UsageFigures> })[];
}

/** `POST /admin/v1/runner-tokens`; the token is shown this once. */
export interface CreatedRunnerTokenBody {
  id: string;
  token: string;
}

export interface RunnerBody {
  id: string;
  name: string;
  device: string;
  model: string;
  /** From the runner's `hello`; null for a runner that did not report them. */
  capabilities: RunnerCapabilities | null;
  state: 'idle' | 'busy' | 'offline';
  jobId: string | null;
  connectedAt: string;
  lastSeenAt: string;
  /**
   * Its circuit breaker: `cooling-down` after repeated failed jobs (leased nothing until
   * `coolingDownUntil`), `on-trial` once that has passed (its next job decides).
   */
  health: 'healthy' | 'cooling-down' | 'on-trial';
  /** Failed jobs since its last success that counted against it. */
  failures: number;
  /** The end of its last cool-down while `cooling-down` or `on-trial`; null while `healthy`. */
  coolingDownUntil: string | null;
  lastFailure: { code: Code; at: string } | null;
}

/**
 * `GET /readyz`: 200 while the database answers and at least one runner can take a job,
 * 503 otherwise, with the reasons (for people: match on `ready`, not on the words).
 */
export interface ReadinessBody {
  ready: boolean;
  /** Why not ready; empty when ready. */
  reasons: string[];
  database: 'ok' | 'unreachable';
  /** Runners online now; null when the database did not answer. */
  runners: {
    online: number;
    /** Online and in rotation (not cooling down). */
    healthy: number;
    coolingDown: number;
    /** When the first runner that is cooling down is back in rotation. */
    firstBackAt: string | null;
  } | null;
}

/** `GET /healthz`. */
export interface HealthBody {
  ok: boolean;
  /** Runners held by a live socket on some server process. */
  runners: number;
}

/** `POST /v1/uploads`: an input image for vary, upscale or background (`inputImageId`, `maskImageId`). */
export interface UploadBody {
  id: string;
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
  /** Whether the image has an alpha channel: a product photo with transparency needs no mask. */
  hasAlpha: boolean;
}
