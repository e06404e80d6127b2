import type { Session, Shopify } from '@shopify/shopify-api';

/** A product the merchant can put a picture on. */
export interface ProductSummary {
  id: string;
  title: string;
}

/** The shop's products, newest first; the admin offers them as where an approved picture goes. */
const PRODUCTS_QUERY = `#graphql
  query AtelierProducts {
    products(first: 25, sortKey: CREATED_AT, reverse: true) {
      nodes { id title }
    }
  }`;

/** Adds images to a product; Shopify fetches each `originalSource` itself, after answering. */
const CREATE_MEDIA = `#graphql
  mutation AtelierProductCreateMedia($productId: ID!, $media: [CreateMediaInput!]!) {
    productCreateMedia(productId: $productId, media: $media) {
      media { id alt mediaContentType status }
      mediaUserErrors { field message code }
    }
  }`;

interface CreateMediaData {
  productCreateMedia: {
    media: { id: string; alt: string | null; mediaContentType: string; status: string }[];
    mediaUserErrors: { field: string[] | null; message: string; code: string | null }[];
  };
}

export async function listProducts(shopify: Shopify, session: Session): Promise<ProductSummary[]> {
  const client = new shopify.clients.Graphql({ session });
  const response = await client.request<{ products: { nodes: ProductSummary[] } }>(PRODUCTS_QUERY, { retries: 2 });
  return response.data?.products.nodes ?? [];
}

/**
 * `productCreateMedia` (scope `write_products`) with the picture's signed URL as its
 * source. Answers the new media's id, or Shopify's user errors (an unknown product, a
 * source it refuses) as one message.
 */
export async function createProductMedia(
  shopify: Shopify,
  session: Session,
  input: { productId: string; url: string; alt: string },
): Promise<{ mediaId: string } | { error: string }> {
  const client = new shopify.clients.Graphql({ session });
  const response = await client.request<CreateMediaData>(CREATE_MEDIA, {
    variables: { productId: input.productId, media: [{ originalSource: input.url, alt: input.alt, mediaContentType: 'IMAGE' }] },
    retries: 2,
  });
  const result = response.data?.productCreateMedia;
  const errors = result?.mediaUserErrors ?? [];
  if (errors.length > 0) return { error: errors.map((error) => error.message).join('; ') };
  const media = result?.media[0];
  if (!media) return { error: 'Shopify created no media.' };
  return { mediaId: media.id };
}
