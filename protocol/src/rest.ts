/**
 * REST bodies (server/docs/openapi.json describes them for HTTP clients). Errors are
 * `Problem` (codes.ts).
 */
import type { Code } from './codes.js';
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
}

/** `GET /v1/generations`: newest first; pass `nextCursor` as `cursor` for the next page. */
export interface GenerationListBody {
  data: GenerationBody[];
  nextCursor: string | null;
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
