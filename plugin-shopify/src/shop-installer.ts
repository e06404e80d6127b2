import { RequestedTokenType, type Session, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import { writeAppMetafields } from './app-metafields.js';
import type { ShopifyModels } from './models/index.js';
import { DEFAULT_SHOP_QUOTAS, type ShopRecord } from './models/shop.model.js';
import type { ShopTenants } from './ports.js';
import type { MongoSessionStorage } from './session-storage.js';
import { readShopInfo, storefrontOrigins, type ShopInfo } from './shop-info.js';

const log = createLogger('shopify-install');

export interface ShopInstallerDeps {
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  tenants: ShopTenants;
  /** The server's public URL, which the storefront widget connects to (stored in the shop's metafields). */
  serverUrl: () => string;
  now?: () => Date;
}

/**
 * Installing a shop: its offline session stored (token sealed), then its tenant made
 * (first install, or after a redaction ended the last one) or reactivated (a reinstall
 * after an uninstall). One shop = one tenant: the shop record's `_id` is the domain, so
 * when two first requests race, one insert wins and the loser deletes the tenant it made.
 */
export class ShopInstaller {
  constructor(private readonly deps: ShopInstallerDeps) {}

  /**
   * Managed installation: the embedded admin's session token (already verified by the
   * caller) is exchanged for an offline token unless the shop is installed with one.
   */
  async ensureInstalled(shop: string, sessionToken: string): Promise<ShopRecord> {
    const { shopify, models, sessions } = this.deps;
    const [record, stored] = await Promise.all([
      models.Shop.findById(shop).lean(),
      sessions.loadSession(shopify.session.getOfflineId(shop)),
    ]);
    if (record?.status === 'installed' && stored?.accessToken) return record;
    const { session } = await shopify.auth.tokenExchange({
      shop,
      sessionToken,
      requestedTokenType: RequestedTokenType.OfflineAccessToken,
    });
    return this.install(session);
  }

  /**
   * Stores the offline session, makes the shop's tenant ready and the storefront's
   * metafields current; returns the shop record.
   */
  async install(session: Session): Promise<ShopRecord> {
    const record = await this.ready(session);
    if (record.publishableKey) {
      try {
        await writeAppMetafields(this.deps.shopify, session, {
          publishableKey: record.publishableKey,
          server: this.deps.serverUrl(),
        });
      } catch (error) {
        // The install stands: a key or server typed into the theme blocks still works,
        // and the next install (or reinstall) writes them again.
        log.error({ err: error, shop: session.shop }, 'metafields not written');
      }
    }
    return record;
  }

  private async ready(session: Session): Promise<ShopRecord> {
    const { models, sessions, tenants } = this.deps;
    const shop = session.shop;
    await sessions.storeSession(session);
    const info = await readShopInfo(this.deps.shopify, session);
    const changes = { name: info.name, origins: storefrontOrigins(shop, info) };
    const now = this.now();
    const existing = await models.Shop.findById(shop).lean();

    if (existing && existing.status !== 'redacted') {
      if (existing.status === 'uninstalled') await tenants.reactivate(existing.tenantId, changes);
      else await tenants.rename(existing.tenantId, changes);
      const installedAt = existing.status === 'uninstalled' ? now : existing.installedAt;
      await models.Shop.updateOne(
        { _id: shop },
        { $set: { status: 'installed', installedAt, uninstalledAt: null, detailsAt: now, ...details(info) } },
      );
      log.info({ shop, tenantId: existing.tenantId, reinstall: existing.status === 'uninstalled' }, 'shop installed');
      return (await models.Shop.findById(shop).lean())!;
    }

    const { tenantId, publishableKey } = await tenants.create(changes);
    const record = {
      tenantId,
      status: 'installed' as const,
      publishableKey,
      quotas: DEFAULT_SHOP_QUOTAS,
      installedAt: now,
      uninstalledAt: null,
      redactedAt: null,
      detailsAt: now,
      ...details(info),
    };
    try {
      if (existing) {
        // A redacted shop's tombstone becomes the record of its new tenant.
        await models.Shop.updateOne({ _id: shop }, { $set: record });
      } else {
        await models.Shop.create({ _id: shop, ...record });
      }
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      await tenants.delete(tenantId);
      log.info({ shop }, 'another request installed the shop first');
      return (await models.Shop.findById(shop).lean())!;
    }
    log.info({ shop, tenantId }, 'shop installed, tenant created');
    return (await models.Shop.findById(shop).lean())!;
  }

  private now(): Date {
    return (this.deps.now ?? (() => new Date()))();
  }
}

function details(info: ShopInfo): Pick<ShopRecord, 'name' | 'email' | 'currencyCode' | 'planName' | 'primaryDomain'> {
  return {
    name: info.name,
    email: info.email,
    currencyCode: info.currencyCode,
    planName: info.planName,
    primaryDomain: info.primaryDomain,
  };
}
