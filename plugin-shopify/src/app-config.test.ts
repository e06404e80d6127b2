import { access, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SHOPIFY_API_VERSION } from './shopify-client.js';
import { WEBHOOK_HANDLERS } from './webhooks/topics.js';
import { WEBHOOK_PATH } from './routes/webhook-routes.js';
import { PROXY_PATH } from './routes/proxy-routes.js';
import { OAUTH_CALLBACK_PATH } from './routes/oauth-routes.js';

const toml = () => readFile(new URL('../shopify.app.toml', import.meta.url), 'utf8');

interface Subscription {
  handler: string | undefined;
  topics: string[];
  compliance: boolean;
  uri: string | undefined;
}

/** The `[[webhooks.subscriptions]]` tables, each with the `# handler:` comment above it. */
function subscriptions(text: string): Subscription[] {
  const found: Subscription[] = [];
  let handler: string | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    const comment = /^# handler: (\S+)$/.exec(line);
    if (comment) handler = comment[1];
    if (line === '[[webhooks.subscriptions]]') {
      found.push({ handler, topics: [], compliance: false, uri: undefined });
      handler = undefined;
    }
    const current = found.at(-1);
    const topics = /^(topics|compliance_topics) = \[(.*)\]$/.exec(line);
    if (current && topics) {
      current.topics = [...topics[2]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      current.compliance = topics[1] === 'compliance_topics';
    }
    const uri = /^uri = "([^"]+)"$/.exec(line);
    if (current && uri) current.uri = uri[1];
  }
  return found;
}

describe('shopify.app.toml', () => {
  it('subscribes to every topic the app handles, once, naming the file that handles it', async () => {
    const found = subscriptions(await toml());
    expect(found.flatMap((s) => s.topics).sort()).toEqual(Object.keys(WEBHOOK_HANDLERS).sort());
    for (const subscription of found) {
      expect(subscription.uri).toBe(WEBHOOK_PATH);
      expect(subscription.handler, subscription.topics.join()).toBe(
        `src/webhooks/${subscription.topics[0]!.replace(/[/_]/g, '-')}.ts`,
      );
      await access(new URL(`../${subscription.handler}`, import.meta.url));
    }
    const compliance = found.filter((s) => s.compliance).flatMap((s) => s.topics);
    expect(compliance.sort()).toEqual(['customers/data_request', 'customers/redact', 'shop/redact']);
  });

  it("names the app's paths and API version", async () => {
    const text = await toml();
    expect(text).toContain(`api_version = "${SHOPIFY_API_VERSION}"`);
    expect(text).toContain(`url = "https://atelier.example${PROXY_PATH}"`);
    expect(text).toContain(`"https://atelier.example${OAUTH_CALLBACK_PATH}"`);
  });
});
