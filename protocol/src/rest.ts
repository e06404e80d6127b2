/**
 * REST bodies (server/docs/openapi.json describes them for HTTP clients). Errors are
 * `Problem` (codes.ts).
 */
import type { Code } from './codes.js';
import type { KeyKind, KeyMode, KeyScope } from './credentials.js';
import type { GenerationParams, JobProgress, JobStatus, PublicImage, QueueEstimate } from './generation.js';

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
}

export interface TenantBody {
  tenantId: string;
  name: string;
  plan: string;
  origins: string[];
  status: 'active' | 'suspended';
  createdAt: string;
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
  state: 'idle' | 'busy' | 'offline';
  jobId: string | null;
  connectedAt: string;
  lastSeenAt: string;
}

/** `GET /healthz`. */
export interface HealthBody {
  ok: boolean;
  /** Runners held by a live socket on some server process. */
  runners: number;
}
