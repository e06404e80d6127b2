import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { CONFIG, KEY, part, scriptSockets } from './helpers.js';
import { BUNDLE_DIR, type StaticServer, startStaticServer } from './static-server.js';

/**
 * `dist/custom-elements.json`, written by the widget's build (custom-elements-manifest.config.mjs),
 * checked against the element the bundle really defines and against the public contract, so
 * neither the manifest nor the JSDoc it is made from can drift.
 */
const PACKAGE_DIR = new URL('../', import.meta.url);
/** `../shared/spec/CONTRACT.md` beside the repository (where CI's clone has it). */
const CONTRACT = new URL('../../../shared/spec/CONTRACT.md', import.meta.url);

interface Named {
  name: string;
  type?: { text: string };
}
interface ElementDeclaration {
  kind: string;
  name: string;
  customElement?: boolean;
  tagName?: string;
  attributes?: (Named & { fieldName?: string })[];
  members?: (Named & { kind: string; privacy?: string })[];
  events?: Named[];
  cssParts?: Named[];
  cssProperties?: Named[];
}
interface Manifest {
  schemaVersion: string;
  modules: {
    path: string;
    declarations?: ElementDeclaration[];
    exports?: { kind: string; name: string; declaration: { name: string; module?: string } }[];
  }[];
}

async function studioDeclaration(): Promise<{ manifest: Manifest; element: ElementDeclaration }> {
  const manifest = JSON.parse(await readFile(new URL('dist/custom-elements.json', PACKAGE_DIR), 'utf8')) as Manifest;
  const elements = manifest.modules.flatMap((module) => module.declarations ?? []).filter((d) => d.customElement);
  expect(elements.map((element) => element.tagName)).toEqual(['atelier-studio']);
  return { manifest, element: elements[0]! };
}

const names = (list: Named[] | undefined) => (list ?? []).map((entry) => entry.name).sort();

let site: StaticServer;

test.beforeAll(async () => {
  site = await startStaticServer();
});

test.afterAll(async () => {
  await site.close();
});

test('package.json names the manifest, and the manifest points at shipped files', async () => {
  const pkg = JSON.parse(await readFile(new URL('package.json', PACKAGE_DIR), 'utf8')) as {
    customElements: string;
    exports: Record<string, unknown>;
  };
  expect(pkg.customElements).toBe('dist/custom-elements.json');
  expect(pkg.exports['./custom-elements.json']).toBe('./dist/custom-elements.json');
  const { manifest } = await studioDeclaration();
  const definition = manifest.modules
    .flatMap((module) => module.exports ?? [])
    .find((e) => e.kind === 'custom-element-definition');
  expect(definition).toMatchObject({ name: 'atelier-studio', declaration: { name: 'AtelierStudio' } });
  for (const module of manifest.modules) {
    expect(module.path).toMatch(/^dist\/.+\.js$/);
    expect(existsSync(new URL(module.path, PACKAGE_DIR)), module.path).toBe(true);
  }
});

test('the manifest describes exactly the attributes, events, parts and custom properties of the built element', async ({
  page,
}) => {
  const { element } = await studioDeclaration();
  const sockets = await scriptSockets(page, {
    ...CONFIG,
    styles: ['Studio White', 'Loft Interior'],
    performances: ['speed', 'quality'],
    aspectRatios: ['1024x1024', '896x1152'],
    maxImages: 2,
  });
  await page.goto(
    site.page(
      '/manifest',
      `<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>
      <atelier-studio publishable-key="${KEY}"></atelier-studio>
      <atelier-studio mode="launcher" publishable-key="${KEY}"></atelier-studio>
      <atelier-studio mode="iframe" publishable-key="${KEY}" server="http://127.0.0.1:9"></atelier-studio>
      </body></html>`,
    ),
  );
  const built = await page.evaluate(async (bundle) => {
    const widget = (await import(bundle)) as Record<string, unknown>;
    const classes = Object.entries(widget).filter(
      (entry): entry is [string, { eventName: string }] => typeof entry[1] === 'function' && 'eventName' in entry[1],
    );
    const studio = customElements.get('atelier-studio') as unknown as { observedAttributes: string[] };
    return {
      attributes: [...studio.observedAttributes].sort(),
      events: Object.fromEntries(classes.map(([name, type]) => [type.eventName, name])),
    };
  }, '/atelier-studio.js');
  // Options and style chips render once the tenant's configuration has arrived.
  await expect.poll(() => sockets.length).toBeGreaterThan(0);
  await expect(part(page, 'options').first()).toBeAttached();
  const rendered = await page.evaluate(() =>
    [...document.querySelectorAll('atelier-studio')].flatMap((studio) =>
      [...studio.shadowRoot!.querySelectorAll('[part]')].flatMap((node) => node.getAttribute('part')!.split(/\s+/)),
    ),
  );

  expect(names(element.attributes)).toEqual(built.attributes);
  for (const attribute of element.attributes ?? []) {
    expect(attribute.fieldName, attribute.name).toBeTruthy();
    expect(names(element.members), attribute.name).toContain(attribute.fieldName);
  }
  expect(names(element.events)).toEqual(Object.keys(built.events).sort());
  for (const event of element.events ?? []) expect(event.type?.text, event.name).toBe(built.events[event.name]);
  for (const name of new Set(rendered)) expect(names(element.cssParts), `part ${name}`).toContain(name);
  // Every public custom property the styles read is documented, and nothing else is.
  const bundle = await readFile(new URL('atelier-studio.js', BUNDLE_DIR), 'utf8');
  const read = new Set([...bundle.matchAll(/var\((--atelier-[a-z-]+)/g)].map((match) => match[1]!));
  expect(names(element.cssProperties)).toEqual([...read].sort());
});

/** The names CONTRACT.md's "Web component" section gives: attributes, parts and events. */
function contractNames(text: string) {
  const section = /^## Web component\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const tag = /<atelier-studio\b([^>]*)>/.exec(section)?.[1] ?? '';
  const parts = /Stable parts[^:]*:([\s\S]*?)\n\s*Events/.exec(section)?.[1] ?? '';
  return {
    attributes: [...tag.matchAll(/([a-z][a-z-]*)=/g)].map((match) => match[1]!),
    parts: [...parts.matchAll(/`([a-z-]+)`\s*\(/g)].map((match) => match[1]!),
    events: [...new Set([...section.matchAll(/`(atelier-[a-z]+)`/g)].map((match) => match[1]!))],
  };
}

test('the manifest lists every attribute, part and event the public contract names', async () => {
  test.skip(!existsSync(CONTRACT), 'CONTRACT.md is not beside this clone (../shared/spec/)');
  const contract = contractNames(await readFile(CONTRACT, 'utf8'));
  // The section's shape is what the parsing expects: a change to it should fail here, not pass vacuously.
  expect(contract.attributes.length).toBeGreaterThanOrEqual(7);
  expect(contract.parts.length).toBeGreaterThanOrEqual(6);
  expect(contract.events.length).toBeGreaterThanOrEqual(5);
  const { element } = await studioDeclaration();
  for (const name of contract.attributes) expect(names(element.attributes), `attribute ${name}`).toContain(name);
  for (const name of contract.parts) expect(names(element.cssParts), `part ${name}`).toContain(name);
  for (const name of contract.events) expect(names(element.events), `event ${name}`).toContain(name);
});
