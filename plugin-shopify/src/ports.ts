/**
 * What the app needs from the platform it is mounted in, and nothing more: the server
 * passes these in, built on its own services (tenants, suspension, deletion, shopper
 * sessions), so a shop's tenant is made and ended exactly as any other tenant.
 */
export interface ShopTenants {
  /** A new tenant for a shop: its id and the publishable key the storefront widget uses. */
  create(input: { name: string; origins: string[] }): Promise<{ tenantId: string; publishableKey: string }>;
  /** Back to active after a reinstall; renames and re-origins it in the same step. */
  reactivate(tenantId: string, changes: { name: string; origins: string[] }): Promise<void>;
  /** Suspends it (its keys stop working and its queued work stops being dispatched). */
  suspend(tenantId: string): Promise<void>;
  /** Keeps the tenant's name and origins in step with the shop's. */
  rename(tenantId: string, changes: { name: string; origins: string[] }): Promise<void>;
  /** Deletes everything of the tenant (idempotent). */
  delete(tenantId: string): Promise<void>;
  /** Stops the tenant's queued jobs and hands their reserved credits back; the count stopped. */
  stopQueuedWork(tenantId: string): Promise<number>;
}

export interface ShopperSessionsPort {
  mint(
    tenantId: string,
    input: { shopperId?: string; expiresInSeconds?: number; quota?: { generationsPerDay?: number } },
  ): Promise<{ token: string; expiresAt: string; shopperId: string }>;
}

/** One shopper's data inside a tenant, for the customer compliance webhooks. */
export interface ShopperData {
  /** Ids of the shopper's generations (`customers/data_request`). */
  list(tenantId: string, shopperId: string): Promise<string[]>;
  /** Deletes the shopper's generations and their files; how many were deleted. */
  forget(tenantId: string, shopperId: string): Promise<number>;
}

export interface ShopifyPorts {
  tenants: ShopTenants;
  shopperSessions: ShopperSessionsPort;
  shoppers: ShopperData;
}
