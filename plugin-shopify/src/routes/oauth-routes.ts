import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type Request } from 'express';
import mongoose from 'mongoose';
import { CookieNotFound, InvalidHmacError, InvalidOAuthError, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopifyModels } from '../models/index.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';
import type { ShopInstaller } from '../shop-installer.js';
import { CapturedResponse } from './captured-response.js';

const log = createLogger('shopify-oauth');

export const OAUTH_BEGIN_PATH = '/shopify/auth';
export const OAUTH_CALLBACK_PATH = '/shopify/auth/callback';
/** The cookie `shopify.auth.begin` signs the state into. */
const STATE_COOKIE = 'shopify_app_state';
/** How long a merchant has between starting the grant and coming back. */
const STATE_TTL_MS = 10 * 60_000;

/**
 * The authorization-code grant, the fallback to managed installation (a shop that
 * installs from a link rather than the App Store). The library runs the protocol: it
 * signs the `state` into a cookie, checks the callback's HMAC and timestamp and
 * exchanges the code. Around it: the shop must be exactly `<name>.myshopify.com`, and
 * the `state` is also stored, bound to the shop, and spent once (a replayed callback,
 * even with its cookie, is refused).
 */
export function oauthRoutes(deps: {
  shopify: Shopify;
  models: ShopifyModels;
  installer: ShopInstaller;
  now?: () => Date;
}): Router {
  const router = Router();
  const now = deps.now ?? (() => new Date());

  router.get(OAUTH_BEGIN_PATH, async (req, res) => {
    const shop = shopDomain(req.query.shop);
    if (!shop) return sendProblem(res, 'invalid_request', 'shop must be a shop domain: <name>.myshopify.com');
    const captured = new CapturedResponse();
    await deps.shopify.auth.begin({
      shop,
      callbackPath: OAUTH_CALLBACK_PATH,
      isOnline: false,
      rawRequest: req,
      rawResponse: captured,
    });
    const location = captured.getHeader('location');
    const state = typeof location === 'string' ? new URL(location).searchParams.get('state') : null;
    if (state) {
      await forgetExpired(deps.models, now());
      await deps.models.OAuthState.create({ _id: state, shop, expiresAt: new Date(now().getTime() + STATE_TTL_MS) });
    }
    captured.replay(res);
  });

  router.get(OAUTH_CALLBACK_PATH, async (req, res) => {
    const query = plainQuery(req);
    const shop = shopDomain(query?.shop);
    if (!query || !shop) return sendProblem(res, 'invalid_request', 'shop must be a shop domain: <name>.myshopify.com');
    try {
      if (!(await deps.shopify.utils.validateHmac(query))) return sendProblem(res, 'unauthorized', 'The hmac is not valid.');
    } catch (error) {
      if (!(error instanceof InvalidHmacError)) throw error;
      return sendProblem(res, 'unauthorized', 'The hmac is missing or its timestamp is too old.');
    }
    // The library checks the signed state cookie; a browser without it is turned away
    // here already, so that it cannot spend the state of the merchant's own browser.
    if (stateCookie(req) !== query.state) return sendProblem(res, 'unauthorized', 'The OAuth state does not match this browser.');
    const refusal = await spendState(deps.models, query.state, shop, now());
    if (refusal) return sendProblem(res, 'unauthorized', refusal);

    let callback;
    try {
      callback = await deps.shopify.auth.callback({ rawRequest: req as IncomingMessage, rawResponse: res as ServerResponse });
    } catch (error) {
      if (error instanceof CookieNotFound || error instanceof InvalidOAuthError) {
        log.info({ shop, reason: error.message }, 'OAuth callback refused');
        return sendProblem(res, 'unauthorized', 'The OAuth state does not match this browser.');
      }
      throw error;
    }
    // The node adapter has already put the library's headers (the state cookie's deletion) on `res`.
    await deps.installer.install(callback.session);
    res.redirect(302, `https://${shop}/admin/apps/${deps.shopify.config.apiKey}`);
  });

  return router;
}

/**
 * Expired states, and spent nonces whose state has certainly expired, are dropped as new
 * grants begin: an expired state is refused whether or not its record is still there.
 */
async function forgetExpired(models: ShopifyModels, now: Date): Promise<void> {
  await models.OAuthState.deleteMany({ expiresAt: mongoose.trusted({ $lt: now }) });
  await models.OAuthStateUse.deleteMany({ usedAt: mongoose.trusted({ $lt: new Date(now.getTime() - STATE_TTL_MS) }) });
}

function stateCookie(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === STATE_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** The query as flat strings, or undefined when a name is repeated (Shopify never repeats one). */
function plainQuery(req: Request): Record<string, string> | undefined {
  const entries = Object.entries(req.query as Record<string, unknown>);
  if (entries.some(([, value]) => typeof value !== 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Why the state cannot be used, or undefined once it has been spent by this call. */
async function spendState(
  models: ShopifyModels,
  state: string | undefined,
  shop: string,
  now: Date,
): Promise<string | undefined> {
  if (!state || !/^[0-9a-f]{16,128}$/.test(state)) return 'The OAuth state is missing.';
  const stored = await models.OAuthState.findById(state).lean();
  if (!stored || stored.shop !== shop || stored.expiresAt.getTime() <= now.getTime()) {
    return 'The OAuth state is unknown, expired or was issued for another shop.';
  }
  try {
    await models.OAuthStateUse.create({ _id: state, usedAt: now });
  } catch (error) {
    if ((error as { code?: number }).code === 11000) return 'The OAuth state was already used.';
    throw error;
  }
  return undefined;
}
