import type { WidgetConfig } from '@atelier/protocol';
import { expect, test } from '@playwright/test';
import { part, studioPage } from './helpers.js';
import { ScriptedRealtimeServer, TEST_CONFIG } from './scripted-realtime-server.js';
import { type StaticServer, startStaticServer } from './static-server.js';

/**
 * Review baselines (committed next to this file, in screenshots.spec.ts-snapshots/): the
 * studio idle after welcome, in the light and dark themes and in one tenant's theme, at a
 * phone's width and a desktop's. A scripted socket on a real port says the same welcome
 * every time; animations and the caret are off (Playwright's defaults for screenshots).
 * After a deliberate change to how the studio looks, review the new pictures and run
 * `npx playwright test widget/test/screenshots.spec.ts --update-snapshots`.
 */
let site: StaticServer;
const realtime = new ScriptedRealtimeServer();

const LOGO = 'https://logo.example/screenshot-logo.svg';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32"><rect width="96" height="32" rx="6" fill="#7c2d12"/><circle cx="16" cy="16" r="8" fill="#fde68a"/></svg>';

const OPTIONS: WidgetConfig = {
  ...TEST_CONFIG,
  tenantName: 'Lumen & Oak',
  styles: ['Studio White', 'Studio Pastel', 'Loft Interior'],
  defaultStyles: ['Studio Pastel'],
  performances: ['speed', 'quality'],
  aspectRatios: ['1024x1024', '896x1152', '1152x896'],
  maxImages: 4,
};

/** A homeware shop's theme: its colours, a serif, small corners, compact spacing and its logo. */
const TENANT: WidgetConfig = {
  ...OPTIONS,
  branding: {
    colors: {
      accent: '#b5651d',
      background: '#fdf8f3',
      surface: '#f3e9dd',
      text: '#2b1d12',
      muted: '#6b5a4b',
      border: '#e2d3c1',
    },
    fontFamily: 'Georgia, serif',
    radius: 4,
    density: 'compact',
    logoUrl: LOGO,
    strings: { en: { generate: 'Create my scene' } },
  },
};

const LOOKS = [
  { name: 'light', theme: 'light', config: OPTIONS },
  { name: 'dark', theme: 'dark', config: OPTIONS },
  { name: 'tenant', theme: 'light', config: TENANT },
] as const;

test.beforeAll(async () => {
  site = await startStaticServer();
  await realtime.start();
});

test.afterAll(async () => {
  await realtime.stop();
  await site.close();
});

for (const width of [390, 1280]) {
  for (const look of LOOKS) {
    test(`${look.name} theme at ${width} px, idle after welcome`, async ({ page }) => {
      realtime.script = (connection, message) => {
        if (message.type === 'hello') connection.send({ type: 'welcome', session: 'sess-1', resume: false, config: look.config });
      };
      await page.setViewportSize({ width, height: 1200 });
      await page.route(LOGO, (route) => route.fulfill({ contentType: 'image/svg+xml', body: LOGO_SVG }));
      const html = studioPage(
        `publishable-key="pk_test_screens" server="${realtime.url}" theme="${look.theme}" product-title="Walnut lamp"`,
      )
        .replace(
          '<body>',
          `<body style="margin: 16px; font-family: sans-serif; background: ${look.theme === 'dark' ? '#000' : '#fff'}">`,
        )
        .replace('<atelier-studio', '<div style="max-width: 36rem"><atelier-studio')
        .replace('</atelier-studio>', '</atelier-studio></div>');
      await page.goto(site.page(`/screens-${look.name}-${width}`, html));
      await expect(part(page, 'styles')).toBeVisible();
      await expect(part(page, 'options')).toBeVisible();
      if (look.config.branding?.logoUrl) {
        await expect
          .poll(() => part(page, 'logo').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth))
          .toBe(96);
      }
      await page.evaluate(() => document.fonts.ready);
      await expect(page.locator('atelier-studio')).toHaveScreenshot(`${look.name}-${width}.png`);
    });
  }
}
