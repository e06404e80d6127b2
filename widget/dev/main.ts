/**
 * Dev page wiring: one studio per mode and theme, each pointed at the demo's server and
 * tenants (served by dev/demo-tenants-plugin.ts) or at `?server=…&key=…&key2=…`; any
 * other attribute in the query string goes on every studio; every atelier-* event is logged.
 */
import type { StudioMode, StudioTheme } from '../src/index.js';
import { DEV_TENANTS_PATH, type DevTenants } from './dev-tenants.js';

interface Card {
  title: string;
  note: string;
  /** Which tenant's key: the first demo tenant (a light palette) or the second (dark, German). */
  tenant: 0 | 1;
  mode: StudioMode;
  theme: StudioTheme;
  locale?: string;
}

const CARDS: Card[] = [
  {
    title: 'Inline, light',
    note: "The first tenant's saved palette over the light defaults.",
    tenant: 0,
    mode: 'inline',
    theme: 'light',
  },
  {
    title: 'Inline, dark',
    note: "Dark defaults; only the tenant's accent carries over.",
    tenant: 0,
    mode: 'inline',
    theme: 'dark',
  },
  {
    title: 'Inline, tenant theme',
    note: "The second tenant's whole saved theme (colours, font, radius, its German strings).",
    tenant: 1,
    mode: 'inline',
    theme: 'light',
    locale: 'de',
  },
  {
    title: 'Launcher',
    note: 'The floating button in the corner of the window opens it in a dialog.',
    tenant: 0,
    mode: 'launcher',
    theme: 'auto',
  },
  {
    title: 'Iframe',
    note: "The server's embed page in an iframe; events bridged to this element.",
    tenant: 0,
    mode: 'iframe',
    theme: 'light',
  },
];

/** Query parameters that go on every studio as attributes (`key`/`key2`/`server` are handled apart). */
const PASSED_THROUGH = ['locale', 'theme', 'product-image', 'product-title', 'session-token'];

const query = new URLSearchParams(location.search);
const setup = document.querySelector<HTMLElement>('#setup')!;

async function endpoints(): Promise<{ server: string; keys: [string, string] }> {
  const key = query.get('key');
  if (key) return { server: query.get('server') ?? '', keys: [key, query.get('key2') ?? key] };
  const response = await fetch(DEV_TENANTS_PATH);
  const body = (await response.json()) as DevTenants & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${DEV_TENANTS_PATH}: ${response.status}`);
  const [first, second] = body.tenants;
  setup.textContent = `Demo server ${body.server}: ${body.tenants.map((t) => t.name).join(' and ')}.`;
  return { server: body.server, keys: [first!.publishableKey, (second ?? first)!.publishableKey] };
}

function render(server: string, keys: [string, string]): void {
  const cards = document.querySelector('#cards')!;
  for (const card of CARDS) {
    const section = document.createElement('section');
    section.className = 'card';
    const heading = document.createElement('h2');
    heading.textContent = card.title;
    const note = document.createElement('p');
    note.textContent = card.note;
    const studio = document.createElement('atelier-studio');
    const attributes: Record<string, string> = { 'publishable-key': keys[card.tenant], mode: card.mode, theme: card.theme };
    if (server) attributes['server'] = server;
    if (card.locale) attributes['locale'] = card.locale;
    for (const name of PASSED_THROUGH) {
      const value = query.get(name);
      if (value !== null) attributes[name] = value;
    }
    for (const [name, value] of Object.entries(attributes)) studio.setAttribute(name, value);
    section.append(heading, note, studio);
    cards.append(section);
  }
}

const log = document.querySelector('#log')!;
for (const type of ['atelier-start', 'atelier-progress', 'atelier-complete', 'atelier-error', 'atelier-select'] as const) {
  document.addEventListener(type, (event) => {
    const card = (event.target as Element).closest('.card')?.querySelector('h2')?.textContent ?? '';
    const item = document.createElement('li');
    item.textContent = `${card}: ${type} ${JSON.stringify(event.detail)}`;
    log.prepend(item);
  });
}

try {
  const { server, keys } = await endpoints();
  // Attributes first, then the element: each studio connects once, to the right server.
  render(server, keys);
} catch (error) {
  setup.dataset['error'] = '';
  setup.textContent = (error as Error).message;
}
await import('../src/index.js');
