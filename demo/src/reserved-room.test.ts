import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The studio's room before its script runs is one rule, written once in the widget's
 * README ("Layout shift") and copied into the CSS of every page we ship: the demo
 * storefronts and the Shopify theme app extension. A change to the studio's rows that
 * updates the README but not a copy makes that page shift again; this finds it.
 */
const repo = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

/** `selector → min-height` for each `atelier-studio…:not(:defined)` rule of a stylesheet. */
function reservations(css: string): Map<string, string> {
  const rules = new Map<string, string>();
  const withoutComments = css.replace(/\/\*[\s\S]*?\*\//g, '');
  for (const [, selector, body] of withoutComments.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    const trimmed = selector!.trim();
    if (!trimmed.startsWith('atelier-studio') || !trimmed.endsWith(':not(:defined)')) continue;
    const heights = [...body!.matchAll(/min-height:\s*([^;]+);?/g)].map((match) => match[1]!.trim());
    // A fallback first (for browsers without container units) and the rule last: the last wins.
    if (heights.length > 0) rules.set(trimmed, heights.at(-1)!);
  }
  return rules;
}

function readmeRule(): Map<string, string> {
  const readme = repo('widget/README.md');
  const section = readme.slice(readme.indexOf('Before its script has run'));
  const block = /```css\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('widget/README.md has no css block after "Before its script has run"');
  return reservations(block[1]!);
}

describe("the studio's reserved room", () => {
  const rule = readmeRule();

  it('is stated in the README for inline, product photo, returning shopper and iframe', () => {
    expect([...rule.keys()]).toEqual([
      "atelier-studio[mode='inline']:not(:defined)",
      "atelier-studio[mode='inline'][product-image]:not(:defined)",
      "atelier-studio[mode='inline'][has-recent]:not(:defined)",
      "atelier-studio[mode='inline'][product-image][has-recent]:not(:defined)",
      "atelier-studio[mode='iframe']:not(:defined)",
    ]);
  });

  it.each([
    ['the demo storefronts', 'demo/storefront/shop.css'],
    ['the Shopify theme app extension', 'plugin-shopify/extensions/atelier-studio/assets/atelier-studio.css'],
  ])('is the README rule in %s', (_name, path) => {
    const copy = reservations(repo(path));
    for (const [selector, height] of rule) expect({ selector, height: copy.get(selector) }).toEqual({ selector, height });
  });
});
