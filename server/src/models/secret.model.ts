import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A platform secret every server process on this database must agree on (the key
 * that signs image URLs and shopper sessions). Platform-owned: no tenantId.
 */
export interface PlatformSecret {
  _id: string;
  value: string;
  createdAt: Date;
}

const secretSchema = new Schema<PlatformSecret>(
  {
    _id: { type: String, required: true },
    value: { type: String, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'platform_secrets' },
);

export function secretModel(connection: Connection): Model<PlatformSecret> {
  return connection.model<PlatformSecret>('PlatformSecret', secretSchema);
}
