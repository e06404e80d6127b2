import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STYLE_LIBRARY } from '@atelier/protocol';
import { tenantConfigSchema } from '@atelier/protocol/schemas';
import { DEMO_TENANTS } from './demo-tenants.js';
import { imagePath } from './storefront-pages.js';

const storefrontDir = fileURLToPath(new URL('../storefront', import.meta.url));

describe('DEMO_TENANTS', () => {
  it('are two shops with their own names, languages and themes', () => {
    expect(DEMO_TENANTS.map((spec) => spec.name)).toEqual(['Lumen & Oak', 'Faden & Form']);
    expect(DEMO_TENANTS.map((spec) => spec.locale)).toEqual(['en', 'de']);
    expect(new Set(DEMO_TENANTS.map((spec) => spec.look.theme)).size).toBe(2);
    expect(new Set(DEMO_TENANTS.map((spec) => spec.look.accent)).size).toBe(2);
  });

  it.each(DEMO_TENANTS.map((spec) => [spec.name, spec] as const))(
    '%s: its configuration is one PUT /v1/config accepts',
    (_name, spec) => {
      const parsed = tenantConfigSchema.safeParse(spec.config);
      expect(parsed.error?.issues ?? []).toEqual([]);
      const config = parsed.data!;
      const builtIn = new Set(STYLE_LIBRARY.map((style) => style.name));
      const custom = config.styles.custom.map((style) => style.name);
      // Built-in styles that fit the shop, and a style or two in its own words.
      expect(config.styles.allowed.some((name) => builtIn.has(name))).toBe(true);
      expect(custom.length).toBeGreaterThan(0);
      expect(config.styles.allowed).toEqual(expect.arrayContaining(custom));
      expect(config.branding.colors.accent).toBe(spec.look.accent);
      expect(config.branding.fontFamily).not.toBeNull();
      expect(config.branding.radius).not.toBeNull();
    },
  );

  it('each offers a style the other does not (the browser tests tell the shops apart by it)', () => {
    const [first, second] = DEMO_TENANTS.map((spec) => new Set(spec.config.styles?.allowed));
    expect([...first!].filter((name) => !second!.has(name))).toContain('Evening Glow');
    expect([...second!].filter((name) => !first!.has(name))).toContain('Laufsteg Berlin');
  });

  it('have three or four products each, every one with a small SVG photo of its own', async () => {
    const slugs = DEMO_TENANTS.flatMap((spec) => spec.products.map((product) => product.slug));
    expect(new Set(slugs).size).toBe(slugs.length);
    for (const spec of DEMO_TENANTS) {
      expect(spec.products.length).toBeGreaterThanOrEqual(3);
      expect(spec.products.length).toBeLessThanOrEqual(4);
      for (const product of spec.products) {
        expect(product.slug).toMatch(/^[a-z0-9-]+$/);
        const svg = await readFile(join(storefrontDir, imagePath(product)), 'utf8');
        expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 512 512"/);
        expect(svg.length).toBeLessThan(4096);
      }
    }
  });

  it("put nothing into the page's <style> that needs HTML escaping", () => {
    for (const spec of DEMO_TENANTS) {
      for (const value of Object.values(spec.look)) expect(value).not.toMatch(/[&<>"']/);
    }
  });
});
