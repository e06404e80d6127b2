import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import mongoose from 'mongoose';
import { withDatabase } from '@atelier/server';
import './vitest-context.js';

/** A database name no other test uses, on the run's shared server. */
export function freshDatabaseUri(): string {
  return withDatabase(inject('mongoUri'), `t_${randomBytes(6).toString('hex')}`);
}

export async function dropDatabase(uri: string): Promise<void> {
  const connection = await mongoose.createConnection(uri).asPromise();
  try {
    await connection.dropDatabase();
  } finally {
    await connection.close();
  }
}
