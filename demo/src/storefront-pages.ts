import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DemoProduct, DemoTenantSpec } from './demo-tenants.js';

/** What a storefront page is rendered from; read when it is rendered (the keys come after the storefront is up). */
export interface ShopView {
  spec: DemoTenantSpec;
  /** The Atelier server the widget talks to (and loads from). */
  server: string;
  publishableKey: string;
  /** The storefront's own origin (product photos are given to the widget as absolute URLs). */
  origin: string;
}

export type StorefrontPage = { kind: 'catalogue' } | { kind: 'product'; product: DemoProduct } | { kind: 'studio' };

const TEMPLATES = ['layout', 'catalogue', 'product', 'studio', 'launcher'] as const;
export type Templates = Record<(typeof TEMPLATES)[number], string>;

export async function loadTemplates(dir: string): Promise<Templates> {
  const texts = await Promise.all(TEMPLATES.map((name) => readFile(join(dir, `${name}.html`), 'utf8')));
  return Object.fromEntries(TEMPLATES.map((name, i) => [name, texts[i]!])) as Templates;
}

export const productPath = (product: DemoProduct) => `/products/${product.slug}`;
export const imagePath = (product: DemoProduct) => `/images/${product.slug}.svg`;

/**
 * A whole page: the shop's layout around the page's body. Every page that has no
 * studio of its own (the catalogue) gets the floating launcher.
 */
export function renderPage(templates: Templates, shop: ShopView, page: StorefrontPage): string {
  const { spec } = shop;
  const values: Record<string, string> = {
    ...spec.copy,
    ...spec.look,
    lang: spec.locale,
    shopName: spec.name,
    server: shop.server,
    publishableKey: shop.publishableKey,
  };
  let body: string;
  let title: string;
  if (page.kind === 'product') {
    const { product } = page;
    title = `${product.title} — ${spec.name}`;
    body = fill(templates.product, {
      ...values,
      productTitle: product.title,
      price: product.price,
      description: product.description,
      image: `${shop.origin}${imagePath(product)}`,
    });
  } else if (page.kind === 'studio') {
    title = `${spec.copy.studioPage} — ${spec.name}`;
    body = fill(templates.studio, values);
  } else {
    title = spec.name;
    body = fill(templates.catalogue, { ...values, cards: spec.products.map((product) => card(product)).join('\n') });
  }
  return fill(templates.layout, {
    ...values,
    title,
    body,
    nav: nav(spec, page),
    launcher: page.kind === 'catalogue' ? fill(templates.launcher, values) : '',
  });
}

function card(product: DemoProduct): string {
  return `<li><a class="card" href="${productPath(product)}"><img src="${imagePath(product)}" alt="" width="512" height="512" /><span class="card__title">${escapeHtml(product.title)}</span><span class="card__price">${escapeHtml(product.price)}</span></a></li>`;
}

function nav(spec: DemoTenantSpec, page: StorefrontPage): string {
  const link = (href: string, label: string, current: boolean) =>
    `<a href="${href}"${current ? ' aria-current="page"' : ''}>${escapeHtml(label)}</a>`;
  return (
    link('/', spec.copy.catalogue, page.kind === 'catalogue') + link('/studio', spec.copy.studioPage, page.kind === 'studio')
  );
}

/** `{{name}}` is replaced by the value, escaped; `{{{name}}}` by HTML this module rendered. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_match, raw: string | undefined, escaped: string | undefined) =>
    raw === undefined ? escapeHtml(values[escaped!] ?? '') : (values[raw] ?? ''),
  );
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
