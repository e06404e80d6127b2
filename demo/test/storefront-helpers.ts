import type { Page } from '@playwright/test';
import { DEMO_TENANTS, productPath, type DemoStack, type DemoTenant } from '@atelier/demo';
import type { GenerationListBody } from '@atelier/protocol';

/** The widget's stable parts on a storefront page (Playwright's CSS engine pierces the shadow root). */
export const studio = (page: Page) => ({
  prompt: page.locator('atelier-studio [part~="prompt"]'),
  generate: page.locator('atelier-studio [part~="generate"]'),
  progress: page.locator('atelier-studio [part~="progress"]'),
  status: page.locator('atelier-studio [part~="status"]'),
  error: page.locator('atelier-studio [part~="error"]'),
  results: page.locator('atelier-studio img[part~="result"]'),
});

/** Every generation of the tenant, newest first, through the REST API with its secret key. */
export async function generationIds(stack: DemoStack, tenant: DemoTenant): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const response = await fetch(`${stack.manifest.server}/v1/generations?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { Authorization: `Bearer ${tenant.secretKey}` },
    });
    if (response.status !== 200) throw new Error(`listing generations: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as GenerationListBody;
    ids.push(...page.data.map((generation) => generation.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** A product page of the demo's storefront `shop` (by index in `DEMO_TENANTS`): the one with the studio inline. */
export function productPage(stack: DemoStack, shop = 0, product = 0): string {
  return new URL(productPath(DEMO_TENANTS[shop]!.products[product]!), stack.manifest.storefronts[shop]).href;
}
