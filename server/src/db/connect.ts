import mongoose, { type Connection } from 'mongoose';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { createModels, type Models } from '../models/index.js';

// Filters built from client input must never carry operators, and unknown filter
// paths are dropped rather than silently matching everything.
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', 'throw');

export interface Database {
  connection: Connection;
  models: Models;
  close(): Promise<void>;
}

export async function connectDatabase(uri: string): Promise<Database> {
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 10_000, autoIndex: false }).asPromise();
  const models = createModels(connection);
  // Index builds touch every tenant's documents; they run once here, explicitly.
  await runAsSystem('create indexes', () => Promise.all(Object.values(models).map((model) => model.createIndexes())));
  return { connection, models, close: () => connection.close() };
}
