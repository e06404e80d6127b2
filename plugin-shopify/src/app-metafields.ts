import type { Session, Shopify } from '@shopify/shopify-api';

/** The namespace of the values the theme app extension reads (`app.metafields.atelier.*`). */
export const METAFIELD_NAMESPACE = 'atelier';

const INSTALLATION = `#graphql
  query AtelierInstallation {
    currentAppInstallation { id }
  }`;

const SET = `#graphql
  mutation AtelierMetafields($metafields: [MetafieldsSetInput!]!) {
    metafieldsSet(metafields: $metafields) {
      metafields { key namespace value }
      userErrors { field message code }
    }
  }`;

/**
 * Stores what the storefront blocks need as app-data metafields: owned by the app's
 * installation on the shop (`ownerId` = `currentAppInstallation.id`), so only the app
 * can write them and no access scope is needed, and Liquid reads them in the theme app
 * extension as `app.metafields.atelier.publishable_key` / `.server`. Written at every
 * install, so a reinstall (a new key, a moved server) refreshes them.
 */
export async function writeAppMetafields(
  shopify: Shopify,
  session: Session,
  values: { publishableKey: string; server: string },
): Promise<void> {
  const client = new shopify.clients.Graphql({ session });
  const installation = await client.request<{ currentAppInstallation: { id: string } }>(INSTALLATION, { retries: 2 });
  const ownerId = installation.data?.currentAppInstallation.id;
  if (!ownerId) throw new Error('the Admin API answered without the app installation');
  const field = (key: string, value: string) => ({
    ownerId,
    namespace: METAFIELD_NAMESPACE,
    key,
    type: 'single_line_text_field',
    value,
  });
  const response = await client.request<{ metafieldsSet: { userErrors: { message: string }[] } }>(SET, {
    variables: { metafields: [field('publishable_key', values.publishableKey), field('server', values.server)] },
    retries: 2,
  });
  const errors = response.data?.metafieldsSet.userErrors ?? [];
  if (errors.length > 0) throw new Error(`metafieldsSet refused: ${errors.map((e) => e.message).join('; ')}`);
}
