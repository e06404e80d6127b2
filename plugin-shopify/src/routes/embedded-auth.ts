import type { Request, RequestHandler, Response } from 'express';
import { HttpResponseError, type Shopify } from '@shopify/shopify-api';
import { createLogger } from '@atelier/runtime';
import type { ShopRecord } from '../models/shop.model.js';
import { sendProblem } from '../problem.js';
import { shopDomain } from '../shop-domain.js';
import type { ShopInstaller } from '../shop-installer.js';

const log = createLogger('shopify-admin');

/**
 * Authenticates the embedded admin's requests. Each carries the session token App Bridge
 * adds (`Authorization: Bearer <jwt>`), verified by the library (HS256 with the app
 * secret, `exp`/`nbf`, `aud` = our client id); the shop is the token's `dest`, never a
 * parameter. The first verified request of a shop installs it (token exchange). The shop
 * record is left in `res.locals.shop` for the route (read it with `embeddedShop(res)`).
 */
export function embeddedAdminAuth(deps: { shopify: Shopify; installer: ShopInstaller }): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req);
    if (!token) return refuse(res, 'A session token is required (Authorization: Bearer).');
    let dest: string;
    try {
      ({ dest } = await deps.shopify.session.decodeSessionToken(token));
    } catch (error) {
      log.info({ reason: (error as Error).message.replace(token, '<token>') }, 'session token refused');
      return refuse(res, 'The session token is not valid.');
    }
    const shop = shopDomain(hostOf(dest));
    if (!shop) return refuse(res, 'The session token does not name a shop.');
    try {
      res.locals.shop = await deps.installer.ensureInstalled(shop, token);
    } catch (error) {
      // Shopify refused the token exchange (a token just past its life, a revoked app): App
      // Bridge retries with a fresh session token.
      if (!(error instanceof HttpResponseError)) throw error;
      const status = (error as HttpResponseError).response.code;
      if (status >= 500) throw error;
      log.info({ shop, status }, 'token exchange refused');
      return refuse(res, 'Shopify did not accept the session token.');
    }
    next();
  };
}

/** The shop `embeddedAdminAuth` authenticated for this request. */
export function embeddedShop(res: Response): ShopRecord {
  const shop = res.locals.shop as ShopRecord | undefined;
  if (!shop) throw new Error('embeddedShop() read outside a route behind embeddedAdminAuth');
  return shop;
}

function bearer(req: Request): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._-]+)$/.exec(req.get('authorization') ?? '');
  return match?.[1];
}

function hostOf(dest: string): string | undefined {
  try {
    const url = new URL(dest);
    return url.protocol === 'https:' && url.pathname === '/' && !url.port && !url.username ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

/** App Bridge fetches a fresh session token and retries when this header says so. */
function refuse(res: Response, detail: string): void {
  res.setHeader('X-Shopify-Retry-Invalid-Session-Request', '1');
  sendProblem(res, 'unauthorized', detail);
}
