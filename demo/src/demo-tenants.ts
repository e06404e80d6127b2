import type { StorefrontSettings } from './storefront-server.js';

export interface DemoTenantSpec {
  name: string;
  plan: string;
  storefront: Omit<StorefrontSettings, 'server' | 'publishableKey' | 'shopName'>;
}

/** The demo's merchants. Each gets its own tenant, keys and storefront origin. */
export const DEMO_TENANTS: DemoTenantSpec[] = [
  {
    name: 'Lumen & Oak',
    plan: 'pro',
    storefront: {
      productTitle: 'Arc Desk Lamp',
      price: '€129',
      description: 'Hand-turned oak base, linen shade, warm 2700 K light. Try it in your own room before you buy.',
      accent: '#b5651d',
      theme: 'light',
    },
  },
];
