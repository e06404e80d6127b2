import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A running server process. Each keeps its own document fresh (a single writer) and
 * removes it on a graceful close; one whose `seenAt` is stale has died, and the runners
 * its sockets held are no longer online. Platform-owned.
 */
export interface ServerInstance {
  _id: string;
  hostname: string;
  pid: number;
  /** How often this instance writes `seenAt`; others judge it alive by this. */
  heartbeatMs: number;
  startedAt: Date;
  seenAt: Date;
}

const serverInstanceSchema = new Schema<ServerInstance>(
  {
    _id: { type: String, required: true },
    hostname: { type: String, default: '' },
    pid: { type: Number, required: true },
    heartbeatMs: { type: Number, required: true },
    startedAt: { type: Date, required: true },
    seenAt: { type: Date, required: true },
  },
  { collection: 'server_instances', versionKey: false },
);

export function serverInstanceModel(connection: Connection): Model<ServerInstance> {
  return connection.model<ServerInstance>('ServerInstance', serverInstanceSchema);
}
