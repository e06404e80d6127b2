import { createHmac, randomUUID } from 'node:crypto';

export interface SessionTokenClaims {
  shop: string;
  /** The staff member (`sub`); default `1`. */
  userId?: string;
  /** Default: the app's client id. */
  aud?: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  /** Default: one minute after `iat`, as Shopify issues them. */
  exp?: number;
  nbf?: number;
  /** Signs with this instead of the app's secret (a forgery). */
  secret?: string;
  /** Overrides `dest` (default `https://<shop>`). */
  dest?: string;
}

export interface SignedWebhook {
  headers: Record<string, string>;
  body: string;
}

export interface WebhookInput {
  topic: string;
  shop: string;
  payload: unknown;
  eventId?: string;
  webhookId?: string;
  triggeredAt?: Date;
  apiVersion?: string;
  /** Signs with this instead of the app's secret. */
  secret?: string;
}

/**
 * Signs what Shopify signs for an app, with the app's client secret and Shopify's own
 * formats: session tokens (HS256 JWTs App Bridge hands the embedded admin), webhook
 * deliveries (base64 HMAC of the raw body), app-proxy query strings (hex HMAC of the
 * sorted `key=value` pairs joined with nothing, lists joined with commas) and OAuth
 * redirects (hex HMAC of the sorted, `&`-joined query).
 */
export class ShopifySigner {
  constructor(
    readonly apiKey: string,
    readonly apiSecret: string,
  ) {}

  sessionToken(claims: SessionTokenClaims): string {
    const iat = claims.iat ?? Math.floor(Date.now() / 1000);
    const payload = {
      iss: `https://${claims.shop}/admin`,
      dest: claims.dest ?? `https://${claims.shop}`,
      aud: claims.aud ?? this.apiKey,
      sub: claims.userId ?? '1',
      exp: claims.exp ?? iat + 60,
      nbf: claims.nbf ?? iat,
      iat,
      jti: randomUUID(),
      sid: randomUUID(),
    };
    return signJwt(payload, claims.secret ?? this.apiSecret);
  }

  webhook(input: WebhookInput): SignedWebhook {
    const body = JSON.stringify(input.payload);
    return {
      body,
      headers: {
        'Content-Type': 'application/json',
        'X-Shopify-Hmac-Sha256': createHmac('sha256', input.secret ?? this.apiSecret)
          .update(body, 'utf8')
          .digest('base64'),
        'X-Shopify-Topic': input.topic,
        'X-Shopify-Shop-Domain': input.shop,
        'X-Shopify-Webhook-Id': input.webhookId ?? randomUUID(),
        'X-Shopify-Event-Id': input.eventId ?? randomUUID(),
        'X-Shopify-Triggered-At': (input.triggeredAt ?? new Date()).toISOString(),
        'X-Shopify-API-Version': input.apiVersion ?? '2025-10',
      },
    };
  }

  /** The query Shopify appends to a proxied storefront request, `signature` included. */
  proxyQuery(input: {
    shop: string;
    loggedInCustomerId?: string;
    pathPrefix?: string;
    timestamp?: number;
    extra?: Record<string, string | string[]>;
    secret?: string;
  }): URLSearchParams {
    const params: Record<string, string | string[]> = {
      ...input.extra,
      shop: input.shop,
      logged_in_customer_id: input.loggedInCustomerId ?? '',
      path_prefix: input.pathPrefix ?? '/apps/atelier',
      timestamp: String(input.timestamp ?? Math.floor(Date.now() / 1000)),
    };
    const message = Object.keys(params)
      .sort()
      .map((key) => `${key}=${([] as string[]).concat(params[key]!).join(',')}`)
      .join('');
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) for (const item of ([] as string[]).concat(value)) query.append(key, item);
    query.set(
      'signature',
      createHmac('sha256', input.secret ?? this.apiSecret)
        .update(message)
        .digest('hex'),
    );
    return query;
  }

  /** A query signed as Shopify signs the admin's redirects to an app (OAuth callback, app load). */
  adminQuery(params: Record<string, string>, secret?: string): URLSearchParams {
    const sorted = new URLSearchParams(
      Object.keys(params)
        .sort()
        .map((key): [string, string] => [key, params[key]!]),
    );
    sorted.append(
      'hmac',
      createHmac('sha256', secret ?? this.apiSecret)
        .update(sorted.toString())
        .digest('hex'),
    );
    return sorted;
  }
}

function signJwt(payload: object, secret: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** The claims of an HS256 JWT signed with `secret`, or undefined when it is not one. */
export function verifyJwt(token: string, secret: string): Record<string, unknown> | undefined {
  const [header, body, signature] = token.split('.');
  if (header === undefined || body === undefined || signature === undefined) return undefined;
  const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  if (expected !== signature) return undefined;
  try {
    const alg = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown }).alg;
    return alg === 'HS256' ? (JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
