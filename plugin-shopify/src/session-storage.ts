import mongoose from 'mongoose';
import { Session, type OnlineAccessInfo } from '@shopify/shopify-api';
import type { ShopifyModels } from './models/index.js';
import type { SessionRecord } from './models/session.model.js';
import type { TokenCipher } from './token-cipher.js';

/**
 * Session storage in Mongo, with the method names of Shopify's session-storage packages
 * (`storeSession`, `loadSession`, `deleteSession`, `deleteSessions`,
 * `findSessionsByShop`). Access and refresh tokens are sealed with the shop's domain as
 * associated data before they are written and opened when read.
 */
export class MongoSessionStorage {
  constructor(private readonly deps: { models: ShopifyModels; cipher: TokenCipher }) {}

  async storeSession(session: Session): Promise<boolean> {
    const { cipher } = this.deps;
    const record: Omit<SessionRecord, '_id' | 'createdAt' | 'updatedAt'> = {
      shop: session.shop,
      state: session.state,
      isOnline: session.isOnline,
      scope: session.scope ?? null,
      expires: session.expires ?? null,
      sealedAccessToken: session.accessToken ? cipher.encrypt(session.accessToken, session.shop) : null,
      sealedRefreshToken: session.refreshToken ? cipher.encrypt(session.refreshToken, session.shop) : null,
      refreshTokenExpires: session.refreshTokenExpires ?? null,
      onlineAccessInfo: session.onlineAccessInfo ?? null,
    };
    const write = () => this.deps.models.Session.updateOne({ _id: session.id }, { $set: record }, { upsert: true });
    await write().catch((error: unknown) => {
      // Two upserts of a new id race to insert it: one wins, and the other, tried again, updates.
      if ((error as { code?: number }).code !== 11000) throw error;
      return write();
    });
    return true;
  }

  async loadSession(id: string): Promise<Session | undefined> {
    const record = await this.deps.models.Session.findById(id).lean();
    return record ? this.open(record) : undefined;
  }

  async deleteSession(id: string): Promise<boolean> {
    await this.deps.models.Session.deleteOne({ _id: id });
    return true;
  }

  async deleteSessions(ids: string[]): Promise<boolean> {
    await this.deps.models.Session.deleteMany({ _id: mongoose.trusted({ $in: ids }) });
    return true;
  }

  async findSessionsByShop(shop: string): Promise<Session[]> {
    const records = await this.deps.models.Session.find({ shop }).lean();
    return records.map((record) => this.open(record));
  }

  /** Every session of the shop, gone: what uninstalling and redacting leave of its tokens. */
  async deleteShop(shop: string): Promise<number> {
    return (await this.deps.models.Session.deleteMany({ shop })).deletedCount;
  }

  private open(record: SessionRecord): Session {
    const { cipher } = this.deps;
    return new Session({
      id: record._id,
      shop: record.shop,
      state: record.state,
      isOnline: record.isOnline,
      ...(record.scope !== null && { scope: record.scope }),
      ...(record.expires !== null && { expires: new Date(record.expires) }),
      ...(record.sealedAccessToken !== null && { accessToken: cipher.decrypt(record.sealedAccessToken, record.shop) }),
      ...(record.sealedRefreshToken !== null && { refreshToken: cipher.decrypt(record.sealedRefreshToken, record.shop) }),
      ...(record.refreshTokenExpires !== null && { refreshTokenExpires: new Date(record.refreshTokenExpires) }),
      ...(record.onlineAccessInfo !== null && { onlineAccessInfo: record.onlineAccessInfo as OnlineAccessInfo }),
    });
  }
}
