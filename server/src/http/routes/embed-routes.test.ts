import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBED_PATH, REALTIME_CLOSE, STUDIO_PATH } from '@atelier/protocol';
import { connectWidget, openWidgetSocket, startTestServer, type TestServer, type WidgetProbe } from '@atelier/testing';

const SHOP = 'https://shop.test';

let server: TestServer;
let tenant: { tenantId: string; secretKey: string; publishableKey: string };
let other: { tenantId: string; secretKey: string; publishableKey: string };
const sockets: WidgetProbe[] = [];

beforeAll(async () => {
  server = await startTestServer();
  tenant = await server.createTenant({ name: 'Acme', origins: [SHOP] });
  other = await server.createTenant({ name: 'Globex', origins: ['https://globex.test'] });
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.close()));
  await server.stop();
});

const embed = (query: string) => fetch(new URL(`${EMBED_PATH}?${query}`, server.url));
const query = (key: string, parent: string) => `key=${encodeURIComponent(key)}&parent=${encodeURIComponent(parent)}`;

describe('GET /embed/studio', () => {
  it('serves the studio page for an allowed parent, framable by that parent only, with no inline script', async () => {
    const response = await embed(query(tenant.publishableKey, SHOP));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain(`frame-ancestors ${SHOP}`);
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).toContain(`data-parent="${SHOP}"`);
    expect(html).toContain(`<atelier-studio publishable-key="${tenant.publishableKey}">`);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes]) => /src="([^"]+)"/.exec(attributes!)?.[1])).toEqual([
      expect.stringMatching(STUDIO_PATH),
      '/embed.js',
    ]);
    expect(scripts.every(([, , body]) => body === '')).toBe(true);
    // Both scripts it names are served.
    for (const [, attributes] of scripts) {
      const src = /src="([^"]+)"/.exec(attributes!)![1]!;
      const script = await fetch(new URL(src, server.url));
      expect(script.status, src).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
  });

  it.each([
    ['no parent', () => `key=${tenant.publishableKey}`, 400],
    ['a parent with a path', () => query(tenant.publishableKey, `${SHOP}/products/lamp`), 400],
    ['a parent that is not a URL', () => query(tenant.publishableKey, 'shop.test'), 400],
    ['a javascript: parent', () => query(tenant.publishableKey, 'javascript:alert(1)'), 400],
    ['two parents', () => `${query(tenant.publishableKey, SHOP)}&parent=${encodeURIComponent(SHOP)}`, 400],
    ['a parent the tenant did not allow', () => query(tenant.publishableKey, 'https://evil.test'), 403],
    ["another tenant's origin", () => query(tenant.publishableKey, 'https://globex.test'), 403],
    ['another tenant reaching for this one', () => query(other.publishableKey, SHOP), 403],
    ['a secret key', () => query(tenant.secretKey, SHOP), 403],
    ['no key', () => `parent=${encodeURIComponent(SHOP)}`, 403],
  ])('refuses %s with a plain message that no page may frame into anything else', async (_label, make, status) => {
    const response = await embed(make());
    expect(response.status).toBe(status);
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");
    const body = await response.text();
    expect(body).not.toContain('<atelier-studio');
    expect(body).not.toContain(tenant.publishableKey);
  });
});

describe("GET /embed/studio with the host element's starting attributes", () => {
  const scriptTags = (html: string) => [...html.matchAll(/<script\b/g)].length;
  const studioTag = (html: string) => /<atelier-studio\b[^>]*>/.exec(html)![0];

  it('writes each that passes its check into the page, escaped, so the studio starts in them', async () => {
    const title = 'Wollmantel „Nord“ "><script>alert(1)</script> & Co';
    const response = await embed(
      `${query(tenant.publishableKey, SHOP)}&locale=de-CH&theme=dark&product-image=${encodeURIComponent('https://cdn.shop.test/coat.png?v=2&w=800')}&product-title=${encodeURIComponent(title)}`,
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<html lang="de-CH"');
    expect(studioTag(html)).toBe(
      `<atelier-studio publishable-key="${tenant.publishableKey}" locale="de-CH" theme="dark" product-image="https://cdn.shop.test/coat.png?v=2&#38;w=800" product-title="Wollmantel „Nord“ &#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62; &#38; Co">`,
    );
    expect(scriptTags(html)).toBe(2);
  });

  it.each([
    ['a locale that is not a tag', 'locale', 'de"><script>alert(1)</script>'],
    ['a locale with spaces', 'locale', 'en US'],
    ['a theme of its own', 'theme', 'neon'],
    ['a javascript: product image', 'product-image', 'javascript:alert(1)'],
    ['a relative product image', 'product-image', '/images/coat.png'],
    ['a product image with credentials', 'product-image', 'https://user:secret@cdn.shop.test/coat.png'],
    ['a product image of 2049 characters', 'product-image', `https://cdn.shop.test/${'a'.repeat(2049 - 22)}`],
    ['a product title with a line break', 'product-title', 'Coat\n<b>'],
    ['a product title of 201 characters', 'product-title', 'x'.repeat(201)],
  ])('leaves out %s, and still serves the page', async (_label, name, value) => {
    const response = await embed(`${query(tenant.publishableKey, SHOP)}&${name}=${encodeURIComponent(value)}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(studioTag(html)).toBe(`<atelier-studio publishable-key="${tenant.publishableKey}">`);
    expect(html).toContain('<html lang="en"');
    expect(scriptTags(html)).toBe(2);
  });

  it('leaves out an attribute given twice', async () => {
    const response = await embed(`${query(tenant.publishableKey, SHOP)}&theme=dark&theme=light`);
    expect(studioTag(await response.text())).toBe(`<atelier-studio publishable-key="${tenant.publishableKey}">`);
  });

  it('takes no shopper session from the address', async () => {
    const response = await embed(`${query(tenant.publishableKey, SHOP)}&session-token=eyJ.abc.def`);
    const html = await response.text();
    expect(html).not.toContain('eyJ.abc.def');
  });
});

describe("the embed page's socket", () => {
  it("is let in from the server's own origin, where only the embed page runs", async () => {
    const { welcome, widget } = await connectWidget(server.url, tenant.publishableKey, new URL(server.url).origin);
    sockets.push(widget);
    expect(welcome.config.tenantName).toBe('Acme');
  });

  it('still refuses any other origin the tenant did not allow', async () => {
    const widget = await openWidgetSocket(server.url, tenant.publishableKey, 'https://evil.test');
    sockets.push(widget);
    expect((await widget.closed()).code).toBe(REALTIME_CLOSE.unauthorized);
  });
});
