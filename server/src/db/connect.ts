import mongoose, { type Connection } from 'mongoose';
import { runAsSystem } from '../tenancy/tenant-context.js';
import { createModels, type Models } from '../models/index.js';

// Filters built from client input must never carry operators: sanitizeFilter turns an
// operator object into a value to compare (`$eq`), so code that means an operator says
// so with `mongoose.trusted`. A filter path the schema does not have throws: dropping
// it (strictQuery: true) would widen the filter and match everything.
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
