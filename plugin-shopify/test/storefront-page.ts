/**
 * A product page as an Online Store 2.0 theme serves it with the extension switched on:
 * the product block inside the product section, the app embed at the end of <body>, and
 * each rendered block's schema `stylesheet` linked in <head> (Shopify's content_for_header).
 */
import { EXTENSION_DIR, blockSchema, blockSettings } from './extension-files.js';
import { assetBase, shopifyEscape, shopifyLiquid, type ShopifyImage, type ShopifyLiquidOptions } from './shopify-liquid.js';

export interface SampleProduct {
  id: number;
  title: string;
  handle: string;
  featured_image: ShopifyImage | null;
  selected_or_first_available_variant: { id: number; title: string };
}

export interface StorefrontRequest {
  /** `request.origin`: scheme and host of the storefront. */
  origin: string;
  locale: { iso_code: string };
  /** True inside the theme editor. */
  design_mode?: boolean;
}

/** Values the app stores on install (app-data metafields, namespace `atelier`). */
export interface AppMetafields {
  publishable_key?: string;
  server?: string;
}

export interface ProductPageOptions extends Omit<ShopifyLiquidOptions, 'locale' | 'extensionDir'> {
  extensionDir?: string;
  product: SampleProduct;
  request: StorefrontRequest;
  app?: AppMetafields;
  /** Settings of the product block; `null` leaves the block out. */
  productBlock?: Record<string, unknown> | null;
  /** Settings of the app embed; `null` leaves it switched off. */
  appEmbed?: Record<string, unknown> | null;
}

export const PRODUCT_BLOCK = 'product-studio.liquid';
export const APP_EMBED = 'app-embed.liquid';

function appObject(values: AppMetafields = {}) {
  const atelier: Record<string, { value: string }> = {};
  for (const [key, value] of Object.entries(values) as [string, string | undefined][])
    if (value !== undefined) atelier[key] = { value };
  return { metafields: { atelier } };
}

/** Renders one block file with its schema's defaults under `settings`, as Shopify would. */
export async function renderBlock(
  file: string,
  settings: Record<string, unknown>,
  options: Omit<ProductPageOptions, 'productBlock' | 'appEmbed'>,
  id = file.replace(/\.liquid$/, ''),
): Promise<string> {
  const extensionDir = options.extensionDir ?? EXTENSION_DIR;
  const schema = blockSchema(file, extensionDir);
  const engine = shopifyLiquid({ ...options, extensionDir, locale: options.request.locale.iso_code });
  const block = { id, type: id, settings: blockSettings(schema, settings), shopify_attributes: '' };
  // Shopify's global objects reach into every snippet; the block's own variables only
  // where `render` passes them on.
  const globals = { request: { design_mode: false, ...options.request }, app: appObject(options.app) };
  return (await engine.renderFile(file, { block, product: options.product }, { globals })) as string;
}

export async function renderProductPage(options: ProductPageOptions): Promise<string> {
  const { product, request } = options;
  const stylesheets = new Set<string>();
  const render = async (file: string, settings: Record<string, unknown> | null | undefined) => {
    if (settings === null) return '';
    const stylesheet = blockSchema(file, options.extensionDir).stylesheet;
    if (stylesheet) stylesheets.add(stylesheet);
    return renderBlock(file, settings ?? {}, options);
  };
  const productBlock = await render(PRODUCT_BLOCK, options.productBlock);
  const appEmbed = await render(APP_EMBED, options.appEmbed);
  const links = [...stylesheets].map((file) => `<link rel="stylesheet" href="${assetBase(options)}${file}">`).join('\n');
  return `<!doctype html>
<html lang="${shopifyEscape(request.locale.iso_code)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shopifyEscape(product.title)}</title>
${links}
</head>
<body>
<main>
  <section class="product">
    <h1>${shopifyEscape(product.title)}</h1>
    <form action="/cart/add" method="post">
      <input type="hidden" name="id" value="${product.selected_or_first_available_variant.id}">
      <button type="submit">Add to cart</button>
    </form>
    ${productBlock}
  </section>
</main>
${appEmbed}
</body>
</html>`;
}
