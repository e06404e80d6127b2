import type { Performance } from '@atelier/protocol';
import { Schema, type Connection, type Model } from 'mongoose';
import type { RunnerCapabilities } from '@atelier/protocol';
import type { BreakerState } from '../queue/runner-health.js';

/**
 * A connected (or recently connected) runner, so that every server instance can
 * count the runners able to take work, not only the ones connected to itself.
 */
export interface RunnerRecord extends Partial<BreakerState> {
  _id: string;
  tokenId: string;
  /** The server process whose socket holds the runner (see server-instance.model.ts). */
  serverId: string | null;
  name: string;
  device: string;
  model: string;
  maxPixels: number;
  capabilities: RunnerCapabilities | null;
  /** The presets it advertised; absent: every preset. */
  performances?: Performance[];
  state: 'idle' | 'busy' | 'offline';
  jobId: string | null;
  connectedAt: Date;
  lastSeenAt: Date;
}

const runnerSchema = new Schema<RunnerRecord>(
  {
    _id: { type: String, required: true },
    tokenId: { type: String, required: true },
    serverId: { type: String, default: null, index: true },
    name: { type: String, default: '' },
    device: { type: String, default: 'cpu' },
    model: { type: String, default: '' },
    maxPixels: { type: Number, default: 0 },
    capabilities: { type: Schema.Types.Mixed, default: null },
    performances: { type: [String], default: undefined },
    state: { type: String, enum: ['idle', 'busy', 'offline'], default: 'idle' },
    jobId: { type: String, default: null },
    connectedAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true, index: true },
    // The circuit breaker (queue/runner-health.ts); absent on records from before it.
    failures: { type: Number, default: undefined },
    cooldownMs: { type: Number, default: undefined },
    coolingDownUntil: { type: Date, default: undefined },
    lastFailureCode: { type: String, default: undefined },
    lastFailureAt: { type: Date, default: undefined },
  },
  { collection: 'runners' },
);

export function runnerModel(connection: Connection): Model<RunnerRecord> {
  return connection.model<RunnerRecord>('Runner', runnerSchema);
}
