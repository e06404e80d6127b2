import { RequestedTokenType, type Session, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import { writeAppMetafields } from './app-metafields.js';
import { DrainLoop } from './drain-loop.js';
import type { ShopifyModels } from './models/index.js';
import { DEFAULT_SHOP_QUOTAS, type ShopRecord } from './models/shop.model.js';
import type { ShopTenants, TenantSettingsPort } from './ports.js';
import type { MongoSessionStorage } from './session-storage.js';
import { readShopInfo, storefrontOrigins, type ShopInfo } from './shop-info.js';

const log = createLogger('shopify-install');

export interface ShopInstallerDeps {
  shopify: Shopify;
  models: ShopifyModels;
  sessions: MongoSessionStorage;
  tenants: ShopTenants;
  /** The tenant's configuration: a shop's tenant takes product photos from Shopify's CDN. */
  settings: Pick<TenantSettingsPort, 'get' | 'update'>;
  /** The server's public URL, which the storefront widget connects to (stored in the shop's metafields). */
  serverUrl: () => string;
  now?: () => Date;
  /** How often metafields Shopify did not take are written again. */
  retryMs?: number;
}

/** Where a shop's product photos are (Liquid's `image_url`), which "New scene" starts from. */
export const SHOPIFY_IMAGE_HOST = 'cdn.shopify.com';

/**
 * Installing a shop: its offline session stored (token sealed), then its tenant made
 * (first install, or after a redaction ended the last one) or reactivated (a reinstall
 * after an uninstall). One shop = one tenant: the shop record's `_id` is the domain, so
 * when two first requests race, one insert wins and the loser deletes the tenant it made.
 */
export class ShopInstaller {
  /** Writes the metafields of shops whose last write failed: at start-up and every `retryMs`. */
  private readonly metafieldsLoop: DrainLoop;

  constructor(private readonly deps: ShopInstallerDeps) {
    this.metafieldsLoop = new DrainLoop(() => this.writePendingMetafields(), {
      retryMs: deps.retryMs ?? 30_000,
      log,
      what: 'metafields retry',
    });
  }

  start(): void {
    this.metafieldsLoop.start();
  }

  stop(): Promise<void> {
    return this.metafieldsLoop.stop();
  }

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
    if (record?.status === 'installed' && stored?.accessToken) {
      // The merchant is here, and the storefront shows nothing until the blocks have their values.
      if (record.metafieldsPending && record.publishableKey) await this.writeMetafields(stored, record);
      return record;
    }
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
    if (record.publishableKey) await this.writeMetafields(session, record);
    return record;
  }

  /**
   * Stores the storefront's values (publishable key, server) as the app's metafields. The
   * shop record says they are pending until Shopify has taken them, so a write Shopify
   * refused or never answered is tried again by the loop (also after a restart) and on the
   * merchant's next visit to the admin page, not only at the next install.
   */
  private async writeMetafields(session: Session, record: ShopRecord): Promise<boolean> {
    const { models } = this.deps;
    try {
      await writeAppMetafields(this.deps.shopify, session, {
        publishableKey: record.publishableKey!,
        server: this.deps.serverUrl(),
      });
    } catch (error) {
      log.error({ err: error, shop: session.shop }, 'metafields not written; they will be tried again');
      return false;
    }
    await models.Shop.updateOne({ _id: record._id, status: 'installed' }, { $set: { metafieldsPending: false } });
    log.info({ shop: session.shop }, 'metafields written');
    return true;
  }

  private async writePendingMetafields(): Promise<void> {
    const { models, shopify, sessions } = this.deps;
    const pending = await models.Shop.find({ status: 'installed', metafieldsPending: true }).limit(100).lean();
    for (const record of pending) {
      if (this.metafieldsLoop.stopped) return;
      const session = await sessions.loadSession(shopify.session.getOfflineId(record._id));
      if (session?.accessToken && record.publishableKey) await this.writeMetafields(session, record);
    }
  }

  /**
   * The tenant takes product photos from Shopify's CDN (`productImageHosts`, merged with
   * what the merchant listed): the product block's photo is a cdn.shopify.com URL.
   */
  private async allowShopifyImages(tenantId: string): Promise<void> {
    const { settings } = this.deps;
    const hosts = (await settings.get(tenantId)).productImageHosts;
    if (hosts.includes(SHOPIFY_IMAGE_HOST)) return;
    try {
      await settings.update(tenantId, { productImageHosts: [...hosts, SHOPIFY_IMAGE_HOST] });
    } catch (error) {
      // A list already full: the install stands, and the merchant's own hosts stay.
      log.warn({ err: error, tenantId }, `${SHOPIFY_IMAGE_HOST} not added to productImageHosts`);
    }
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
      await this.allowShopifyImages(existing.tenantId);
      const installedAt = existing.status === 'uninstalled' ? now : existing.installedAt;
      await models.Shop.updateOne(
        { _id: shop },
        {
          $set: {
            status: 'installed',
            installedAt,
            uninstalledAt: null,
            detailsAt: now,
            metafieldsPending: true,
            ...details(info),
          },
        },
      );
      log.info({ shop, tenantId: existing.tenantId, reinstall: existing.status === 'uninstalled' }, 'shop installed');
      return (await models.Shop.findById(shop).lean())!;
    }

    const { tenantId, publishableKey } = await tenants.create(changes);
    await this.allowShopifyImages(tenantId);
    const record = {
      tenantId,
      status: 'installed' as const,
      publishableKey,
      quotas: DEFAULT_SHOP_QUOTAS,
      installedAt: now,
      uninstalledAt: null,
      redactedAt: null,
      detailsAt: now,
      metafieldsPending: true,
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
