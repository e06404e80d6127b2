import { randomBytes } from 'node:crypto';
import type { Models } from '../models/index.js';
import { runAsSystem } from '../tenancy/tenant-context.js';

/**
 * The secret named `name`, created on first use and kept in the database, so that
 * every server process on it signs and verifies alike: a shopper's session token or an
 * image URL minted by one process is good on any other, and across restarts. The
 * first insert wins (the `_id` is unique); everyone else reads the winner's value.
 */
export async function sharedSecret(models: Models, name: string): Promise<string> {
  return runAsSystem(`read the ${name} secret`, async () => {
    const { PlatformSecret } = models;
    const existing = await PlatformSecret.findById(name).lean();
    if (existing) return existing.value;
    await PlatformSecret.create({ _id: name, value: randomBytes(32).toString('base64url') }).catch((error: unknown) => {
      if ((error as { code?: number }).code !== 11000) throw error;
    });
    const stored = await PlatformSecret.findById(name).lean();
    if (!stored) throw new Error(`the ${name} secret vanished after it was created`);
    return stored.value;
  });
}
