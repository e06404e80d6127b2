/**
 * The Shopify app (OAuth install, webhooks, app proxy, billing, embedded admin page)
 * lands here as an Express router that the server mounts. Only the package skeleton
 * exists so far; see the README for what is planned.
 */
export const PLUGIN_NAME = '@atelier/plugin-shopify';
