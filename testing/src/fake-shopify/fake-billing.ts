import type { ServerResponse } from 'node:http';
import type { FakeShopify } from './fake-shopify.js';

/** A line item of a fake app subscription. */
interface FakeLineItem {
  id: string;
  kind: 'recurring' | 'usage';
  cents: number;
  terms: string | null;
}

/** An app subscription as the fake keeps it. */
export interface FakeSubscription {
  id: string;
  shop: string;
  name: string;
  status: 'PENDING' | 'ACTIVE' | 'DECLINED' | 'CANCELLED' | 'EXPIRED' | 'FROZEN' | 'ACCEPTED';
  test: boolean;
  returnUrl: string;
  replacementBehavior: string;
  currencyCode: string;
  createdAt: string;
  updatedAt: string;
  lineItems: FakeLineItem[];
  /** Usage billed in the current cycle. */
  usedCents: number;
  /** The end of the current billing period: 30 days from activation, then 30 more at each renewal; null until active. */
  currentPeriodEnd: string | null;
}

/** Shopify's `EVERY_30_DAYS` interval. */
const PERIOD_MS = 30 * 86_400_000;

/** A usage record the app created. */
export interface FakeUsageRecord {
  id: string;
  shop: string;
  subscriptionId: string;
  cents: number;
  description: string;
  idempotencyKey: string | null;
}

/** A webhook the fake delivered to the app, and how the app answered. */
export interface FakeDelivery {
  topic: string;
  shop: string;
  status: number;
  payload: unknown;
}

interface UserError {
  field: string[];
  message: string;
}

type Log = (status: number, detail: string) => void;

const CONFIRM_PATH = /^\/admin\/charges\/[^/]+\/(\d+)\/RecurringApplicationCharge\/confirm_recurring_application_charge$/;

/**
 * The billing part of the fake Admin API, as Shopify behaves: `appSubscriptionCreate`
 * (a pending subscription and the URL where the merchant approves it), the approval
 * page (`approve`: the merchant accepts or declines, Shopify sends
 * `app_subscriptions/update`, signed, and redirects to the app's return URL with
 * `charge_id`), `appSubscriptionCancel`, `appUsageRecordCreate` (within the capped
 * amount, one record per idempotency key), `currentAppInstallation { id
 * activeSubscriptions }`, and `metafieldsSet` on the installation or the shop.
 */
export class FakeBilling {
  readonly subscriptions: FakeSubscription[] = [];
  readonly usageRecords: FakeUsageRecord[] = [];
  readonly deliveries: FakeDelivery[] = [];
  /** Metafields by shop, `namespace.key` → value and owner. */
  private readonly metafields = new Map<string, Map<string, { value: string; type: string; ownerId: string }>>();
  private readonly installations = new Map<string, string>();
  private readonly shopIds = new Map<string, string>();
  private nextId = 1000;
  private failures = 0;
  private readGate: Promise<void> | undefined;
  private held: { topic: string; shop: string; payload: unknown; triggeredAt: Date }[] | undefined;
  /** Shopify's clock for billing (activation, periods, `updated_at`); tests may move it with the app's. */
  now: () => number = () => Date.now();

  constructor(private readonly fake: FakeShopify) {}

  /**
   * Answers to `currentAppInstallation` are read as usual but held back until the
   * returned function is called: a slow read-back, so a test can change a subscription
   * while the app's read of it is under way.
   */
  holdInstallationReads(): () => void {
    let release!: () => void;
    this.readGate = new Promise((resolve) => (release = resolve));
    return () => {
      this.readGate = undefined;
      release();
    };
  }

  /** Where an Admin GraphQL answer waits, for a request that selected `fields`; undefined: it goes at once. */
  answerGate(fields: string[]): Promise<void> | undefined {
    return fields.includes('currentAppInstallation') ? this.readGate : undefined;
  }

  /** The next `count` `appUsageRecordCreate` calls fail with an internal error (Shopify having a bad minute). */
  failUsageRecords(count: number): void {
    this.failures = count;
  }

  /** The app's metafields on the shop, `namespace.key` → value (what the theme's Liquid reads). */
  metafieldsOf(shop: string): Record<string, string> {
    return Object.fromEntries([...(this.metafields.get(shop) ?? [])].map(([key, field]) => [key, field.value]));
  }

  /** The owner every metafield of the shop was set on. */
  metafieldOwners(shop: string): string[] {
    return [...new Set([...(this.metafields.get(shop) ?? []).values()].map((field) => field.ownerId))];
  }

  /** The app's installation goes, and its app-data metafields and subscriptions with it (no webhook: the app is gone). */
  uninstall(shop: string): void {
    for (const subscription of this.subscriptions.filter(
      (s) => s.shop === shop && ['ACTIVE', 'ACCEPTED', 'PENDING'].includes(s.status),
    )) {
      subscription.status = 'CANCELLED';
    }
    const installation = this.installations.get(shop);
    this.installations.delete(shop);
    const stored = this.metafields.get(shop);
    for (const [key, field] of stored ?? []) if (field.ownerId === installation) stored!.delete(key);
  }

  installationId(shop: string): string {
    let id = this.installations.get(shop);
    if (!id) {
      id = `gid://shopify/AppInstallation/${this.id()}`;
      this.installations.set(shop, id);
    }
    return id;
  }

  shopId(shop: string): string {
    let id = this.shopIds.get(shop);
    if (!id) {
      id = `gid://shopify/Shop/${this.id()}`;
      this.shopIds.set(shop, id);
    }
    return id;
  }

  /**
   * The merchant, on the confirmation page, approves (or declines) the subscription: a
   * real request to the fake, as the browser makes it. Returns where Shopify sends the
   * merchant (the app's return URL with `charge_id`).
   */
  async approve(confirmationUrl: string, decision: 'approve' | 'decline' = 'approve'): Promise<string> {
    const url = new URL(confirmationUrl);
    const response = await fetch(new URL(`${url.pathname}${url.search}`, this.fake.origin), {
      method: 'POST',
      headers: { 'X-Forwarded-Host': url.host, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `decision=${decision}`,
      redirect: 'manual',
    });
    const location = response.headers.get('location');
    if (response.status !== 302 || !location) throw new Error(`the confirmation page answered ${response.status}`);
    return location;
  }

  /**
   * A billing cycle ends (Shopify's clock, `now`, is the test's to move): usage starts
   * from zero, the period is renewed for 30 days, and subscriptions deferred to it
   * replace the active one. Shopify sends no webhook for a renewal.
   */
  async endCycle(shop: string): Promise<void> {
    for (const subscription of this.subscriptions.filter((s) => s.shop === shop)) {
      if (subscription.status !== 'ACTIVE') continue;
      subscription.usedCents = 0;
      const end = subscription.currentPeriodEnd ? Date.parse(subscription.currentPeriodEnd) : this.now();
      subscription.currentPeriodEnd = new Date(end + PERIOD_MS).toISOString();
    }
    for (const deferred of this.subscriptions.filter((s) => s.shop === shop && s.status === 'ACCEPTED')) {
      await this.activate(deferred);
    }
  }

  /** Root fields for one Admin GraphQL request; each is a getter, so a mutation runs only when selected. */
  rootFields(shop: string, variables: Record<string, unknown>): Record<string, unknown> {
    const fields: Record<string, () => unknown> = {
      currentAppInstallation: () => ({
        id: this.installationId(shop),
        activeSubscriptions: this.subscriptions.filter((s) => s.shop === shop && s.status === 'ACTIVE').map((s) => this.view(s)),
      }),
      appSubscriptionCreate: () => this.create(shop, variables),
      appSubscriptionCancel: () => this.cancel(shop, variables),
      appUsageRecordCreate: () => this.usage(shop, variables),
      metafieldsSet: () => this.setMetafields(shop, variables),
    };
    const root: Record<string, unknown> = {};
    for (const [name, get] of Object.entries(fields)) Object.defineProperty(root, name, { get, enumerable: true });
    return root;
  }

  /** The confirmation page's form post; false for a request that is not billing's. */
  async handle(shop: string, method: string, url: URL, body: string, res: ServerResponse, log: Log): Promise<boolean> {
    const match = CONFIRM_PATH.exec(url.pathname);
    if (!match || method !== 'POST') return false;
    const subscription = this.subscriptions.find((s) => s.shop === shop && s.id === `gid://shopify/AppSubscription/${match[1]}`);
    if (!subscription || subscription.status !== 'PENDING') {
      log(404, 'confirm charge: unknown or not pending');
      res.writeHead(404).end();
      return true;
    }
    const decision = new URLSearchParams(body).get('decision');
    if (decision === 'decline') {
      await this.setStatus(subscription, 'DECLINED');
    } else {
      const active = this.subscriptions.find((s) => s.shop === shop && s.status === 'ACTIVE');
      if (active && subscription.replacementBehavior === 'APPLY_ON_NEXT_BILLING_CYCLE')
        await this.setStatus(subscription, 'ACCEPTED');
      else await this.activate(subscription);
    }
    log(302, `confirm charge: ${decision ?? 'approve'}`);
    const back = new URL(subscription.returnUrl);
    back.searchParams.set('charge_id', match[1]!);
    res.writeHead(302, { Location: back.toString() }).end();
    return true;
  }

  private create(shop: string, variables: Record<string, unknown>) {
    const errors: UserError[] = [];
    const name = typeof variables.name === 'string' ? variables.name : '';
    const returnUrl = typeof variables.returnUrl === 'string' ? variables.returnUrl : '';
    if (!name) errors.push({ field: ['name'], message: "Name can't be blank" });
    if (!/^https?:\/\//.test(returnUrl)) errors.push({ field: ['returnUrl'], message: 'Return url is invalid' });
    const numeric = this.id();
    const lineItems: FakeLineItem[] = [];
    for (const item of Array.isArray(variables.lineItems) ? (variables.lineItems as { plan?: Record<string, unknown> }[]) : []) {
      const recurring = item.plan?.appRecurringPricingDetails as { price?: Money } | undefined;
      const usage = item.plan?.appUsagePricingDetails as { cappedAmount?: Money; terms?: string } | undefined;
      if (recurring?.price)
        lineItems.push({
          id: this.lineItemId(numeric, lineItems.length),
          kind: 'recurring',
          cents: cents(recurring.price),
          terms: null,
        });
      else if (usage?.cappedAmount) {
        lineItems.push({
          id: this.lineItemId(numeric, lineItems.length),
          kind: 'usage',
          cents: cents(usage.cappedAmount),
          terms: usage.terms ?? '',
        });
      } else errors.push({ field: ['lineItems'], message: 'Line item must have a recurring or a usage plan' });
    }
    if (lineItems.length === 0 || lineItems.length > 2)
      errors.push({ field: ['lineItems'], message: 'Between 1 and 2 line items' });
    if (errors.length > 0) return { appSubscription: null, confirmationUrl: null, userErrors: errors };
    const now = new Date(this.now()).toISOString();
    const subscription: FakeSubscription = {
      id: `gid://shopify/AppSubscription/${numeric}`,
      shop,
      name,
      status: 'PENDING',
      test: variables.test === true,
      returnUrl,
      replacementBehavior: typeof variables.replacementBehavior === 'string' ? variables.replacementBehavior : 'STANDARD',
      currencyCode: 'USD',
      createdAt: now,
      updatedAt: now,
      lineItems,
      usedCents: 0,
      currentPeriodEnd: null,
    };
    this.subscriptions.push(subscription);
    return {
      appSubscription: this.view(subscription),
      confirmationUrl: `https://${shop}/admin/charges/${this.fake.signer.apiKey}/${numeric}/RecurringApplicationCharge/confirm_recurring_application_charge?signature=${numeric.toString(36)}`,
      userErrors: [],
    };
  }

  private cancel(shop: string, variables: Record<string, unknown>) {
    const subscription = this.subscriptions.find((s) => s.shop === shop && s.id === variables.id);
    if (!subscription || subscription.status !== 'ACTIVE') {
      return { appSubscription: null, userErrors: [{ field: ['id'], message: 'Subscription is not active' }] };
    }
    void this.setStatus(subscription, 'CANCELLED');
    return { appSubscription: { id: subscription.id, status: subscription.status }, userErrors: [] };
  }

  private usage(shop: string, variables: Record<string, unknown>) {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('Internal error. Looks like something went wrong on our end.');
    }
    const refuse = (field: string, message: string) => ({ appUsageRecord: null, userErrors: [{ field: [field], message }] });
    const subscription = this.subscriptions.find(
      (s) => s.shop === shop && s.lineItems.some((item) => item.id === variables.subscriptionLineItemId && item.kind === 'usage'),
    );
    if (!subscription || subscription.status !== 'ACTIVE')
      return refuse('subscriptionLineItemId', 'Subscription line item not found');
    const price = variables.price as Money | undefined;
    const amount = price ? cents(price) : NaN;
    if (!Number.isInteger(amount) || amount <= 0 || price?.currencyCode !== subscription.currencyCode) {
      return refuse('price', "Price must be a positive amount in the subscription's currency");
    }
    const key = typeof variables.idempotencyKey === 'string' ? variables.idempotencyKey : null;
    const earlier = key
      ? this.usageRecords.find((r) => r.subscriptionId === subscription.id && r.idempotencyKey === key)
      : undefined;
    if (earlier) return { appUsageRecord: { id: earlier.id }, userErrors: [] };
    const cap = subscription.lineItems.find((item) => item.kind === 'usage')!.cents;
    if (subscription.usedCents + amount > cap) return refuse('price', 'Total price exceeds balance remaining');
    const record: FakeUsageRecord = {
      id: `gid://shopify/AppUsageRecord/${this.id()}`,
      shop,
      subscriptionId: subscription.id,
      cents: amount,
      description: typeof variables.description === 'string' ? variables.description : '',
      idempotencyKey: key,
    };
    subscription.usedCents += amount;
    this.usageRecords.push(record);
    return { appUsageRecord: { id: record.id }, userErrors: [] };
  }

  private setMetafields(shop: string, variables: Record<string, unknown>) {
    const inputs = Array.isArray(variables.metafields) ? (variables.metafields as Record<string, unknown>[]) : [];
    const owners = [this.installationId(shop), this.shopId(shop)];
    const errors: UserError[] = [];
    inputs.forEach((input, index) => {
      if (!owners.includes(String(input.ownerId)))
        errors.push({ field: ['metafields', String(index), 'ownerId'], message: 'Owner does not exist' });
      for (const field of ['namespace', 'key', 'type', 'value']) {
        if (typeof input[field] !== 'string' || input[field] === '') {
          errors.push({ field: ['metafields', String(index), field], message: `${field} can't be blank` });
        }
      }
    });
    if (inputs.length === 0 || inputs.length > 25) errors.push({ field: ['metafields'], message: 'Between 1 and 25 metafields' });
    // Atomic, as Shopify's: nothing is set when anything is wrong.
    if (errors.length > 0) return { metafields: [], userErrors: errors.map((e) => ({ ...e, code: 'INVALID' })) };
    const stored = this.metafields.get(shop) ?? new Map<string, { value: string; type: string; ownerId: string }>();
    this.metafields.set(shop, stored);
    for (const input of inputs) {
      stored.set(`${String(input.namespace)}.${String(input.key)}`, {
        value: String(input.value),
        type: String(input.type),
        ownerId: String(input.ownerId),
      });
    }
    return {
      metafields: inputs.map((input) => ({ key: input.key, namespace: input.namespace, value: input.value })),
      userErrors: [],
    };
  }

  private async activate(subscription: FakeSubscription): Promise<void> {
    for (const other of this.subscriptions.filter((s) => s.shop === subscription.shop && s.status === 'ACTIVE')) {
      await this.setStatus(other, 'CANCELLED');
    }
    subscription.currentPeriodEnd = new Date(this.now() + PERIOD_MS).toISOString();
    await this.setStatus(subscription, 'ACTIVE');
  }

  /** Changes the status and tells the app, as Shopify does, with a signed `app_subscriptions/update`. */
  private async setStatus(subscription: FakeSubscription, status: FakeSubscription['status']): Promise<void> {
    subscription.status = status;
    // Strictly later than the last update, so the app can order them.
    const last = Date.parse(subscription.updatedAt);
    subscription.updatedAt = new Date(Math.max(this.now(), last + 1)).toISOString();
    const recurring = subscription.lineItems.find((item) => item.kind === 'recurring');
    const usage = subscription.lineItems.find((item) => item.kind === 'usage');
    const payload = {
      app_subscription: {
        admin_graphql_api_id: subscription.id,
        name: subscription.name,
        status: subscription.status,
        admin_graphql_api_shop_id: this.shopId(subscription.shop),
        created_at: subscription.createdAt,
        updated_at: subscription.updatedAt,
        currency: subscription.currencyCode,
        capped_amount: usage ? (usage.cents / 100).toFixed(2) : null,
        price: recurring ? (recurring.cents / 100).toFixed(2) : null,
        interval: 'every_30_days',
        plan_handle: null,
      },
    };
    await this.deliver('app_subscriptions/update', subscription.shop, payload);
  }

  /** Webhooks are kept back from now on, until `deliverHeld` sends them. */
  holdWebhooks(): void {
    this.held ??= [];
  }

  /** Sends the webhooks kept back, one after another, in the order they arose or the reverse (Shopify promises no order). */
  async deliverHeld(order: 'as-sent' | 'reversed' = 'as-sent'): Promise<void> {
    const held = this.held ?? [];
    this.held = undefined;
    for (const webhook of order === 'reversed' ? held.reverse() : held) {
      await this.deliver(webhook.topic, webhook.shop, webhook.payload, webhook.triggeredAt);
    }
  }

  private async deliver(topic: string, shop: string, payload: unknown, triggeredAt = new Date(this.now())): Promise<void> {
    if (this.held) {
      this.held.push({ topic, shop, payload, triggeredAt });
      return;
    }
    if (!this.fake.webhookUrl) return;
    const signed = this.fake.signer.webhook({ topic, shop, payload, triggeredAt });
    const response = await fetch(this.fake.webhookUrl, { method: 'POST', headers: signed.headers, body: signed.body });
    await response.arrayBuffer();
    this.deliveries.push({ topic, shop, status: response.status, payload });
  }

  /** A subscription as the Admin API returns it. */
  private view(subscription: FakeSubscription) {
    return {
      id: subscription.id,
      name: subscription.name,
      status: subscription.status,
      test: subscription.test,
      createdAt: subscription.createdAt,
      currentPeriodEnd: subscription.status === 'ACTIVE' ? subscription.currentPeriodEnd : null,
      lineItems: subscription.lineItems.map((item) => ({
        id: item.id,
        plan: {
          pricingDetails:
            item.kind === 'recurring'
              ? { __typename: 'AppRecurringPricing', interval: 'EVERY_30_DAYS', price: money(item.cents) }
              : {
                  __typename: 'AppUsagePricing',
                  terms: item.terms,
                  cappedAmount: money(item.cents),
                  balanceUsed: money(subscription.usedCents),
                },
        },
      })),
    };
  }

  /** Shopify's form: the subscription's number and the item's place in it. */
  private lineItemId(subscription: number, index: number): string {
    return `gid://shopify/AppSubscriptionLineItem/${subscription}?v=1&index=${index}`;
  }

  private id(): number {
    this.nextId += 1;
    return this.nextId;
  }
}

interface Money {
  amount?: unknown;
  currencyCode?: unknown;
}

/** A `MoneyInput` (`"19.00"` or `19`) in cents. */
function cents(money: Money): number {
  const amount = Number(money.amount);
  return Number.isFinite(amount) ? Math.round(amount * 100) : NaN;
}

function money(cents: number): { amount: string; currencyCode: string } {
  return { amount: (cents / 100).toFixed(2), currencyCode: 'USD' };
}
