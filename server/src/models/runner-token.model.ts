import { Schema, type Connection, type Model } from 'mongoose';

/** A credential for a GPU runner. Platform-owned: runners serve every tenant. */
export interface RunnerToken {
  _id: string;
  hash: string;
  name: string;
  revokedAt: Date | null;
  createdAt: Date;
}

const runnerTokenSchema = new Schema<RunnerToken>(
  {
    _id: { type: String, required: true },
    hash: { type: String, required: true, unique: true },
    name: { type: String, default: '' },
    revokedAt: { type: Date, default: null },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'runner_tokens' },
);

export function runnerTokenModel(connection: Connection): Model<RunnerToken> {
  return connection.model<RunnerToken>('RunnerToken', runnerTokenSchema);
}
