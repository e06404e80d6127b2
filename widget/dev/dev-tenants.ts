/** Where the dev server answers with the running demo's server and keys (dev/demo-tenants-plugin.ts). */
export const DEV_TENANTS_PATH = '/dev/tenants.json';

/** What the dev page gets: never the admin token or secret keys. */
export interface DevTenants {
  server: string;
  tenants: { name: string; publishableKey: string }[];
}
