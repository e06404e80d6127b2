/**
 * The shops' catalogues in the fake Admin API: `products(first: …)` and the
 * `productCreateMedia` mutation, which answers at once with `UPLOADED` media and then
 * fetches each source as Shopify does (`READY`, or `FAILED` when it is not an image).
 */
/** A product of a fake shop, with the media the app added to it. */
export interface FakeProduct {
  id: string;
  title: string;
  media: FakeMedia[];
}

/** Media made by `productCreateMedia`: `UPLOADED`, then `READY` once the fake fetched the source (or `FAILED`). */
export interface FakeMedia {
  id: string;
  alt: string;
  mediaContentType: 'IMAGE';
  status: 'UPLOADED' | 'READY' | 'FAILED';
  originalSource: string;
  /** What fetching the source gave: its content type and size. */
  fetched: { contentType: string; bytes: number } | null;
}

export class FakeProducts {
  private readonly products = new Map<string, FakeProduct[]>();
  private readonly fetches = new Set<Promise<void>>();
  private nextId = 1;

  /** `scopes`: what the app was granted (`productCreateMedia` needs `write_products`). */
  constructor(private readonly scopes: string[]) {}

  add(shop: string, title: string): FakeProduct {
    const product: FakeProduct = { id: `gid://shopify/Product/${this.nextId++}`, title, media: [] };
    this.products.set(shop, [...this.of(shop), product]);
    return product;
  }

  of(shop: string): FakeProduct[] {
    return this.products.get(shop) ?? [];
  }

  /** Waits for the sources still being fetched. */
  async settle(): Promise<void> {
    await Promise.all(this.fetches);
  }

  /** The root fields this part of the Admin API answers, as getters (run only when selected). */
  rootFields(shop: string, variables: Record<string, unknown>): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    return Object.defineProperties(fields, {
      products: { enumerable: true, get: () => ({ nodes: [...this.of(shop)].reverse() }) },
      productCreateMedia: {
        enumerable: true,
        get: () => {
          if (!this.scopes.includes('write_products')) throw new Error('Access denied for productCreateMedia field.');
          return this.createMedia(shop, variables);
        },
      },
    });
  }

  private createMedia(shop: string, variables: Record<string, unknown>) {
    const product = this.of(shop).find((candidate) => candidate.id === variables.productId);
    const userError = (field: string[], message: string, code: string) => ({
      media: [],
      mediaUserErrors: [{ field, message, code }],
    });
    if (!product) return userError(['productId'], 'Product does not exist', 'PRODUCT_DOES_NOT_EXIST');
    const inputs = Array.isArray(variables.media) ? (variables.media as Record<string, unknown>[]) : [];
    const made: FakeMedia[] = [];
    for (const [n, input] of inputs.entries()) {
      const source = typeof input.originalSource === 'string' ? input.originalSource : '';
      if (!/^https?:\/\//.test(source))
        return userError(['media', String(n), 'originalSource'], 'Image URL is invalid', 'INVALID');
      made.push({
        id: `gid://shopify/MediaImage/${this.nextId++}`,
        alt: typeof input.alt === 'string' ? input.alt : '',
        mediaContentType: 'IMAGE',
        status: 'UPLOADED',
        originalSource: source,
        fetched: null,
      });
    }
    product.media.push(...made);
    // Shopify answers at once and fetches the source afterwards.
    for (const media of made) {
      const fetching = this.fetchSource(media).finally(() => this.fetches.delete(fetching));
      this.fetches.add(fetching);
    }
    return {
      media: made.map(({ id, alt, mediaContentType, status }) => ({ id, alt, mediaContentType, status })),
      mediaUserErrors: [],
    };
  }

  private async fetchSource(media: FakeMedia): Promise<void> {
    try {
      const response = await fetch(media.originalSource, { signal: AbortSignal.timeout(10_000) });
      const bytes = (await response.arrayBuffer()).byteLength;
      const contentType = response.headers.get('content-type') ?? '';
      media.fetched = { contentType, bytes };
      media.status = response.ok && contentType.startsWith('image/') && bytes > 0 ? 'READY' : 'FAILED';
    } catch {
      media.status = 'FAILED';
    }
  }
}
