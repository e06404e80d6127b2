import type { ClientMessage, ServerMessage, WidgetBranding, WidgetConfig } from '@atelier/protocol';
import { type Locator, type Page, type WebSocketRoute, test } from '@playwright/test';
import { type StaticServer, startStaticServer } from './static-server.js';

export const KEY = 'pk_test_widget';

export const CONFIG: WidgetConfig = {
  tenantName: 'Widget test',
  defaultPerformance: 'speed',
  performances: ['speed'],
  aspectRatios: ['1024x1024'],
  defaultAspectRatio: '1024x1024',
  maxPromptLength: 2000,
};

/**
 * The spec file's static server (static-server.ts): started before its first test, closed
 * after its last. Call at the top of a spec file; read `.site` inside the tests.
 */
export function useStaticSite(): { readonly site: StaticServer } {
  let site: StaticServer | undefined;
  test.beforeAll(async () => {
    site = await startStaticServer();
  });
  test.afterAll(async () => {
    await site?.close();
  });
  return {
    get site() {
      if (!site) throw new Error('the static server starts in beforeAll: read it inside a test');
      return site;
    },
  };
}

/** A tenant's branding as `welcome` carries it: the widget's defaults but for `own`. */
export const branding = (own: Partial<WidgetBranding>): WidgetBranding => ({
  colors: {},
  fontFamily: null,
  radius: null,
  density: null,
  logoUrl: null,
  strings: {},
  ...own,
});

/** A computed style property of the element (shadow DOM included). */
export const computed = (locator: Locator, property: string) =>
  locator.evaluate((element, name) => getComputedStyle(element).getPropertyValue(name), property);

/**
 * A page with one `<atelier-studio>` that records every atelier-* event it sees at
 * the document (so bubbling and composition are checked too) in `window.events`.
 */
export function studioPage(attributes: string, scripts = '<script type="module" src="/atelier-studio.js"></script>') {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<script>
  window.events = [];
  for (const type of ['atelier-start', 'atelier-progress', 'atelier-complete', 'atelier-error', 'atelier-select']) {
    document.addEventListener(type, (event) => window.events.push({ type, detail: event.detail }));
  }
</script>
<atelier-studio ${attributes}></atelier-studio>
${scripts}
</body>
</html>`;
}

export interface RecordedEvent {
  type: string;
  detail: Record<string, unknown>;
}

export function events(page: Page): Promise<RecordedEvent[]> {
  return page.evaluate(() => (window as unknown as { events: RecordedEvent[] }).events);
}

/** One of the element's stable parts; Playwright's CSS engine pierces the shadow root. */
export function part(page: Page, name: string): Locator {
  return page.locator(`atelier-studio [part~="${name}"]`);
}

/** The visually hidden live region that speaks milestones. */
export function announcer(page: Page): Locator {
  return page.locator('atelier-studio [aria-live="polite"]');
}

export interface ScriptedSocket {
  route: WebSocketRoute;
  url: string;
  received: ClientMessage[];
  send(message: ServerMessage): void;
}

/**
 * Answers the widget's socket inside the browser, speaking the real protocol
 * types, so these specs can drive the component through every state without a
 * server (full round trips are the demo suite's job). `hello` gets a welcome with
 * `config`, or with what `config` answers for the socket's publishable key (one
 * tenant per key, as on the server).
 */
export async function scriptSockets(
  page: Page,
  config: WidgetConfig | ((publishableKey: string) => WidgetConfig) = CONFIG,
): Promise<ScriptedSocket[]> {
  const sockets: ScriptedSocket[] = [];
  await page.routeWebSocket(/\/v1\/realtime/, (route) => {
    const socket: ScriptedSocket = {
      route,
      url: route.url(),
      received: [],
      send: (message) => route.send(JSON.stringify(message)),
    };
    sockets.push(socket);
    route.onMessage((data) => {
      const message = JSON.parse(String(data)) as ClientMessage;
      socket.received.push(message);
      if (message.type !== 'hello') return;
      const key = new URL(socket.url).searchParams.get('key') ?? '';
      socket.send({
        type: 'welcome',
        session: 'sess-1',
        resume: false,
        config: typeof config === 'function' ? config(key) : config,
      });
    });
  });
  return sockets;
}
