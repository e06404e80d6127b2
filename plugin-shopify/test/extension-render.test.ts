import { type DefaultTreeAdapterMap, parse } from 'parse5';
import { describe, expect, it } from 'vitest';
import { blockSchema } from './extension-files.js';
import { APP_EMBED, PRODUCT_BLOCK, renderBlock, renderProductPage, type SampleProduct } from './storefront-page.js';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** Every element of `tag` in the document as a browser parses it (parse5 is the HTML standard's parser). */
function elements(html: string, tag: string): Element[] {
  const found: Element[] = [];
  const walk = (node: Node) => {
    if ('tagName' in node && node.tagName === tag) found.push(node);
    const children = 'content' in node ? node.content.childNodes : 'childNodes' in node ? node.childNodes : [];
    for (const child of children) walk(child);
  };
  walk(parse(html));
  return found;
}

const attributes = (element: Element) => Object.fromEntries(element.attrs.map(({ name, value }) => [name, value]));
const text = (element: Element): string =>
  element.childNodes.map((node) => ('value' in node ? node.value : 'tagName' in node ? text(node) : '')).join('');

const MALICIOUS_TITLE = `Lamp "Arc" <script>alert('owned')</script> & 'shade'`;

const product = (title = 'Arc desk lamp'): SampleProduct => ({
  id: 8_123_456_789,
  title,
  handle: 'arc-desk-lamp',
  featured_image: { filename: 'arc-lamp.jpg', version: 1_700_000_000, width: 2048, height: 2048, alt: 'Arc lamp' },
  selected_or_first_available_variant: { id: 44_001_002_003, title: 'Walnut' },
});

const base = {
  shopHost: 'atelier-demo.myshopify.com',
  assetHost: 'cdn.shopify.com',
  request: { origin: 'https://atelier-demo.myshopify.com', locale: { iso_code: 'en' } },
  product: product(),
  // What the install stored for the shop (app-data metafields, `app.metafields.atelier.*`).
  app: { publishable_key: 'pk_test_abc123', server: 'https://studio.example' },
};
const CONNECTED = {};
const ASSETS = '//cdn.shopify.com/extensions/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/1.0.0/assets/';

describe('the product block', () => {
  it('places one inline studio with the product’s image, title, handle and selected variant, and the loader asset', async () => {
    const html = await renderBlock(PRODUCT_BLOCK, CONNECTED, base);
    const [studio, ...others] = elements(html, 'atelier-studio');
    expect(others).toEqual([]);
    expect(attributes(studio!)).toEqual({
      'publishable-key': 'pk_test_abc123',
      server: 'https://studio.example',
      mode: 'inline',
      locale: 'en',
      theme: 'light',
      'product-image': '//atelier-demo.myshopify.com/cdn/shop/files/arc-lamp.jpg?v=1700000000&width=1024',
      'product-title': 'Arc desk lamp',
      'product-handle': 'arc-desk-lamp',
      'product-variant': '44001002003',
      'data-atelier-cart': 'add',
      'data-atelier-cart-label': 'Your picture',
    });
    // Shown only until the element is defined (its shadow root has no slot for it).
    expect(text(studio!).replace(/\s+/g, ' ').trim()).toBe(
      'Loading the picture studio… Turn on JavaScript to create pictures of this product.',
    );
    expect(elements(html, 'noscript').map(text)).toEqual(['Turn on JavaScript to create pictures of this product.']);
    expect(elements(html, 'h2').map(text)).toEqual(['Picture it your way']);
    const scripts = elements(html, 'script').map(attributes);
    expect(scripts).toEqual([
      { type: 'module', src: `${ASSETS}atelier-loader.js` },
      { type: 'module', src: `${ASSETS}atelier-cart.js` },
    ]);
  });

  it('leaves the cart alone when the merchant turns “add to the cart” off', async () => {
    const html = await renderBlock(PRODUCT_BLOCK, { ...CONNECTED, add_to_cart: false }, base);
    expect(Object.keys(attributes(elements(html, 'atelier-studio')[0]!)).filter((name) => name.startsWith('data-'))).toEqual([]);
    expect(elements(html, 'script').map((script) => attributes(script).src)).toEqual([`${ASSETS}atelier-loader.js`]);
  });

  it('escapes a product title with quotes and a script tag: it stays one attribute value and runs nothing', async () => {
    const html = await renderBlock(PRODUCT_BLOCK, CONNECTED, { ...base, product: product(MALICIOUS_TITLE) });
    expect(html).toContain(
      'product-title="Lamp &quot;Arc&quot; &lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt; &amp; &#39;shade&#39;"',
    );
    const [studio, ...others] = elements(html, 'atelier-studio');
    expect(others).toEqual([]);
    // The browser reads back exactly the merchant's title, and no attribute leaked out of it.
    expect(attributes(studio!)['product-title']).toBe(MALICIOUS_TITLE);
    expect(Object.keys(attributes(studio!))).not.toContain('arc"');
    expect(elements(html, 'script').map((script) => attributes(script).src)).toEqual([
      `${ASSETS}atelier-loader.js`,
      `${ASSETS}atelier-cart.js`,
    ]);
  });

  it('escapes the stored key and server and the merchant’s own settings (heading, colours) too', async () => {
    const html = await renderBlock(
      PRODUCT_BLOCK,
      { heading: '<img src=x onerror=alert(1)>', accent_color: '#123456" onclick="x' },
      { ...base, app: { publishable_key: 'pk_test_"><script>1</script>', server: 'https://studio.example/"onload="x' } },
    );
    const [studio] = elements(html, 'atelier-studio');
    expect(attributes(studio!)).toMatchObject({
      'publishable-key': 'pk_test_"><script>1</script>',
      server: 'https://studio.example/"onload="x',
      style: '--atelier-accent: #123456" onclick="x;',
    });
    expect(attributes(studio!)).not.toHaveProperty('onclick');
    expect(elements(html, 'img')).toEqual([]);
    expect(elements(html, 'h2').map(text)).toEqual(['<img src=x onerror=alert(1)>']);
    expect(elements(html, 'script')).toHaveLength(2);
  });

  it('connects with what the install stored, whatever a theme kept from a block setting of an older version', async () => {
    // Themes keep the values of settings a block no longer has; a stale key or server typed
    // before must not take the shop's studio away from the app's server and its sessions.
    const html = await renderBlock(
      PRODUCT_BLOCK,
      { publishable_key: 'pk_live_typedlongago', server: 'https://old-server.example' },
      { ...base, app: { publishable_key: 'pk_live_fromapp', server: 'https://atelier.example' } },
    );
    expect(attributes(elements(html, 'atelier-studio')[0]!)).toMatchObject({
      'publishable-key': 'pk_live_fromapp',
      server: 'https://atelier.example',
    });
  });

  it('offers no block setting for the key or the server: the install stores them', () => {
    for (const file of [PRODUCT_BLOCK, APP_EMBED]) {
      const ids = (blockSchema(file).settings ?? []).map((setting) => setting.id);
      expect(ids, file).not.toContain('publishable_key');
      expect(ids, file).not.toContain('server');
    }
  });

  it('holds the inline studio in a size container, so its reserved height follows the width it gets', async () => {
    const html = await renderBlock(PRODUCT_BLOCK, CONNECTED, base);
    const [studio] = elements(html, 'atelier-studio');
    expect(attributes(studio!.parentNode as Element)).toEqual({ class: 'atelier-studio__frame' });
  });

  it('passes the theme, colours, radius and mode the merchant chose', async () => {
    const html = await renderBlock(
      PRODUCT_BLOCK,
      {
        ...CONNECTED,
        mode: 'iframe',
        theme: 'dark',
        accent_color: '#b5651d',
        background_color: '#101010',
        text_color: '#fafafa',
        radius: 4,
      },
      base,
    );
    expect(attributes(elements(html, 'atelier-studio')[0]!)).toMatchObject({
      mode: 'iframe',
      theme: 'dark',
      style: '--atelier-accent: #b5651d;--atelier-background: #101010;--atelier-text: #fafafa;--atelier-radius: 4px;',
    });
  });

  it('renders nothing for shoppers until the app is connected, and tells the merchant in the theme editor', async () => {
    const shopper = await renderBlock(PRODUCT_BLOCK, {}, { ...base, app: {} });
    expect(shopper.trim()).toBe('');
    const editor = await renderBlock(PRODUCT_BLOCK, {}, { ...base, app: {}, request: { ...base.request, design_mode: true } });
    expect(elements(editor, 'atelier-studio')).toEqual([]);
    expect(elements(editor, 'p').map(text)[0]).toMatch(/^The picture studio is not connected yet/);
  });

  it('speaks the storefront’s language: strings through | t, the locale attribute from the request', async () => {
    const expected = {
      de: 'Stell es dir vor',
      fr: 'Imaginez-le à votre façon',
      es: 'Imagínalo a tu manera',
      ja: '思いどおりの一枚を',
    };
    for (const [language, heading] of Object.entries(expected)) {
      const html = await renderBlock(PRODUCT_BLOCK, CONNECTED, {
        ...base,
        request: { ...base.request, locale: { iso_code: language } },
      });
      expect(elements(html, 'h2').map(text)).toEqual([heading]);
      expect(attributes(elements(html, 'atelier-studio')[0]!).locale).toBe(language);
    }
  });

  it('leaves out product-image for a product without one', async () => {
    const html = await renderBlock(PRODUCT_BLOCK, CONNECTED, { ...base, product: { ...product(), featured_image: null } });
    expect(attributes(elements(html, 'atelier-studio')[0]!)).not.toHaveProperty('product-image');
  });
});

describe('the app embed', () => {
  it('adds one floating launcher, with no text of its own in the page', async () => {
    const html = await renderBlock(APP_EMBED, CONNECTED, { ...base, product: undefined as unknown as SampleProduct });
    const [studio, ...others] = elements(html, 'atelier-studio');
    expect(others).toEqual([]);
    expect(attributes(studio!)).toEqual({
      'publishable-key': 'pk_test_abc123',
      server: 'https://studio.example',
      mode: 'launcher',
      locale: 'en',
      theme: 'light',
    });
    expect(text(studio!).trim()).toBe('');
    // Without a product there is nothing to put in the cart.
    expect(elements(html, 'script').map((script) => attributes(script).src)).toEqual([`${ASSETS}atelier-loader.js`]);
  });

  it('starts from the product on a product page', async () => {
    const html = await renderBlock(APP_EMBED, CONNECTED, base);
    expect(attributes(elements(html, 'atelier-studio')[0]!)).toMatchObject({
      mode: 'launcher',
      'product-handle': 'arc-desk-lamp',
      'data-atelier-cart': 'add',
    });
  });
});

describe('a product page with the block and the embed', () => {
  it('links the blocks’ stylesheet once in <head> and includes the loader from the extension’s assets', async () => {
    const html = await renderProductPage({ ...base, productBlock: CONNECTED, appEmbed: CONNECTED });
    expect(elements(html, 'atelier-studio').map((studio) => attributes(studio).mode)).toEqual(['inline', 'launcher']);
    expect(elements(html, 'link').map(attributes)).toEqual([{ rel: 'stylesheet', href: `${ASSETS}atelier-studio.css` }]);
    expect(new Set(elements(html, 'script').map((script) => attributes(script).src))).toEqual(
      new Set([`${ASSETS}atelier-loader.js`, `${ASSETS}atelier-cart.js`]),
    );
  });
});
