import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TENANTS } from './demo-tenants.js';
import { loadTemplates, productPath, renderPage, type ShopView, type Templates } from './storefront-pages.js';

let templates: Templates;
beforeAll(async () => {
  templates = await loadTemplates(fileURLToPath(new URL('../storefront', import.meta.url)));
});

const german: ShopView = {
  spec: DEMO_TENANTS[1]!,
  server: 'http://127.0.0.1:8787',
  publishableKey: 'pk_test_abc',
  origin: 'http://127.0.0.1:8789',
};
const studios = (html: string) =>
  [...html.matchAll(/<atelier-studio\s([^>]*)>/g)].map((match) => match[1]!.replace(/\s+/g, ' ').trim());

describe('renderPage', () => {
  it('the catalogue links every product and carries the launcher, in the shop’s language', () => {
    const html = renderPage(templates, german, { kind: 'catalogue' });
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('<title>Faden &#38; Form</title>');
    for (const product of german.spec.products) expect(html).toContain(`href="${productPath(product)}"`);
    expect(studios(html)).toEqual([
      'publishable-key="pk_test_abc" server="http://127.0.0.1:8787" mode="launcher" theme="dark" locale="de"',
    ]);
    expect(html).toContain('<script type="module" src="http://127.0.0.1:8787/widget.js" fetchpriority="low"></script>');
    expect(html).not.toMatch(/\{\{/);
  });

  it('a product page has the studio inline with the product photo, and no launcher', () => {
    const product = german.spec.products[0]!;
    const html = renderPage(templates, german, { kind: 'product', product });
    expect(studios(html)).toEqual([
      'publishable-key="pk_test_abc" server="http://127.0.0.1:8787" mode="inline" theme="dark" locale="de" ' +
        `product-title="Wollmantel „Nord“" product-image="http://127.0.0.1:8789/images/${product.slug}.svg"`,
    ]);
    expect(html).not.toMatch(/\{\{/);
  });

  it('the studio page uses iframe mode, and no launcher', () => {
    const html = renderPage(templates, german, { kind: 'studio' });
    expect(studios(html)).toEqual([
      'publishable-key="pk_test_abc" server="http://127.0.0.1:8787" mode="iframe" theme="dark" locale="de"',
    ]);
    expect(html).toContain('aria-current="page"');
  });

  it('escapes what it puts into the page', () => {
    const html = renderPage(templates, { ...german, publishableKey: '"><script>alert(1)</script>' }, { kind: 'catalogue' });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('publishable-key="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
  });
});
