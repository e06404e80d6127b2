import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { launch } from 'chrome-launcher';
import lighthouse, { desktopConfig, type Config } from 'lighthouse';
import { STUDIO_PATH } from '@atelier/protocol';
import { startProductPage } from './product-page-fixture.js';

/**
 * `npm run bench:widget`: what the widget weighs, and what it costs a merchant's product
 * page in Lighthouse (mobile and desktop, simulated throttling, median of 3 runs each),
 * the page measured without and with the widget. The widget is served by the real
 * server of the demo stack (database, server and runner processes); the page by a
 * server of its own on another origin, as a storefront is. Prints; asserts nothing.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Debian's Chromium, never a downloaded browser (CHROMIUM_PATH as for the Playwright tests). */
const CHROME_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];
/** The goals for the widget's cost: score, largest paint, layout shift. */
const GOALS = { scoreDrop: 1, lcpMs: 50, clsAdded: 0 };

// Set before the stack's loggers load (hence the dynamic import); its processes inherit it.
process.env.LOG_LEVEL ??= 'warn';
const { startDemoStack } = await import('../demo-stack.js');

const bundleDir = join(dirname(fileURLToPath(import.meta.resolve('@atelier/widget/package.json'))), 'dist', 'bundle');

/** Bytes of `path` as the server sends it to a browser that accepts brotli, and its caching. */
function onTheWire(url: string): Promise<{ bytes: number; encoding: string; cache: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'br, gzip' } }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () =>
        resolve({
          bytes,
          encoding: String(response.headers['content-encoding'] ?? 'identity'),
          cache: String(response.headers['cache-control'] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function printSizes(server: string): Promise<void> {
  const studio = (await readdir(bundleDir)).find((name) => STUDIO_PATH.test(`/${name}`));
  if (!studio) throw new Error(`no hashed studio in ${bundleDir}: run \`npm run build\``);
  const files = [
    { name: 'loader (/widget.js)', file: 'loader.js', path: '/widget.js' },
    { name: `studio (/${studio})`, file: studio, path: `/${studio}` },
    { name: 'embed.js (iframe mode)', file: 'embed.js', path: '/embed.js' },
  ];
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`.padStart(9);
  console.log('Widget files (widget/dist/bundle; gzip level 9, brotli quality 11; "served" is what the server sends)');
  console.log(`  ${'file'.padEnd(38)}      raw     gzip   brotli   served`);
  const totals = { raw: 0, gzip: 0, brotli: 0 };
  for (const { name, file, path } of files) {
    const body = await readFile(join(bundleDir, file));
    const gzip = gzipSync(body, { level: 9 }).length;
    const brotli = brotliCompressSync(body).length;
    const wire = await onTheWire(`${server}${path}`);
    if (file !== 'embed.js') {
      totals.raw += body.length;
      totals.gzip += gzip;
      totals.brotli += brotli;
    }
    console.log(
      `  ${name.padEnd(38)}${kb(body.length)}${kb(gzip)}${kb(brotli)}${kb(wire.bytes)} ${wire.encoding}, ${wire.cache}`,
    );
  }
  console.log(`  ${'loader + studio'.padEnd(38)}${kb(totals.raw)}${kb(totals.gzip)}${kb(totals.brotli)}`);
  console.log('  budgets: loader ≤ 10 kB compressed, loader + studio ≤ 30 kB compressed (widget/test/bundle.spec.ts)\n');
}

interface Metrics {
  score: number;
  fcp: number;
  lcp: number;
  tbt: number;
  cls: number;
  /** Lighthouse's measure of this machine's CPU at the time (lower is slower or busier). */
  benchmarkIndex: number;
  /** The machine's one-minute load average when the run ended (other work inflates the figures). */
  load: number;
  /** Where the cost came from: long tasks (script, ms) and layout shifts (element, score). */
  longTasks: string[];
  shifts: string[];
}

interface DetailItems {
  items?: Record<string, unknown>[];
}

async function measure(url: string, port: number, config: Config | undefined): Promise<Metrics> {
  const result = await lighthouse(url, { port, output: 'json', logLevel: 'error', onlyCategories: ['performance'] }, config);
  if (!result) throw new Error(`Lighthouse returned nothing for ${url}`);
  const { lhr } = result;
  if (lhr.runtimeError) throw new Error(`Lighthouse failed on ${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  const value = (audit: string) => lhr.audits[audit]?.numericValue ?? Number.NaN;
  return {
    score: Math.round((lhr.categories['performance']?.score ?? Number.NaN) * 100),
    fcp: value('first-contentful-paint'),
    lcp: value('largest-contentful-paint'),
    tbt: value('total-blocking-time'),
    cls: value('cumulative-layout-shift'),
    benchmarkIndex: lhr.environment.benchmarkIndex,
    load: loadavg()[0]!,
    longTasks: ((lhr.audits['long-tasks']?.details as DetailItems | undefined)?.items ?? []).map(
      (task) => `${String(task['url']).replace(/^https?:\/\/[^/]+/, '')} ${Number(task['duration']).toFixed(0)} ms`,
    ),
    shifts: ((lhr.audits['layout-shifts']?.details as DetailItems | undefined)?.items ?? []).map((shift) => {
      const node = shift['node'] as { selector?: string } | undefined;
      return `${node?.selector ?? 'unattributed'} ${Number(shift['score']).toFixed(3)}`;
    }),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
type Figures = Omit<Metrics, 'benchmarkIndex' | 'load' | 'longTasks' | 'shifts'>;
/** The widget's own scripts in a long task's URL: the loader and the hashed studio. */
const WIDGET_SCRIPT = /^\/widget\.js|^\/atelier-studio\./;
function medians(runs: Metrics[]): Figures {
  const of = (key: keyof Figures) => median(runs.map((run) => run[key]));
  return { score: of('score'), fcp: of('fcp'), lcp: of('lcp'), tbt: of('tbt'), cls: of('cls') };
}

function row(label: string, m: Figures, signed = false): string {
  const sign = (n: number, text: string) => (signed && n > 0 ? `+${text}` : text);
  const ms = (n: number) => sign(n, `${n.toFixed(0)} ms`).padStart(9);
  return `  ${label.padEnd(12)}${sign(m.score, String(m.score)).padStart(6)}${ms(m.fcp)}${ms(m.lcp)}${ms(m.tbt)}${sign(m.cls, m.cls.toFixed(3)).padStart(8)}`;
}

const dataDir = await mkdtemp(join(tmpdir(), 'atelier-bench-widget-'));
const stack = await startDemoStack({ dataDir, port: 0, storefrontPort: 0 });
const chrome = await launch({ chromePath: CHROME_PATH, chromeFlags: CHROME_FLAGS, logLevel: 'silent' });
try {
  const { server, adminToken, tenants } = stack.manifest;
  const tenant = tenants[0]!;
  const page = await startProductPage({ server, publishableKey: tenant.publishableKey });
  // The demo tenant allows its own storefront; the bench page is one more origin of that shop.
  const allowed = await fetch(`${server}/admin/v1/tenants/${tenant.tenantId}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ origins: [tenant.origin, page.origin] }),
  });
  if (!allowed.ok) throw new Error(`allowing the bench page's origin: ${allowed.status} ${await allowed.text()}`);

  await printSizes(server);
  const weights = Object.entries(page.weights)
    .map(([path, bytes]) => `${path} ${(bytes / 1024).toFixed(0)} kB`)
    .join(', ');
  const version = (
    JSON.parse(await readFile(fileURLToPath(import.meta.resolve('lighthouse/package.json')), 'utf8')) as {
      version: string;
    }
  ).version;
  console.log(`Product page (${page.origin}; on the wire: ${weights}), tenant "${tenant.name}", widget inline`);
  console.log(`Lighthouse ${version}, ${CHROME_PATH}, simulated throttling, median of ${RUNS} runs each (per metric)`);

  const formFactors = [
    { name: 'mobile', config: undefined },
    { name: 'desktop', config: desktopConfig },
  ];
  const runs: Record<string, Metrics[]> = {};
  // Interleaved (without, with, without, …) so a change in the machine's load hits both alike.
  for (let run = 0; run < RUNS; run += 1) {
    for (const { name, config } of formFactors) {
      for (const variant of ['without', 'with'] as const) {
        (runs[`${name} ${variant}`] ??= []).push(await measure(page.url(variant), chrome.port, config));
      }
    }
  }

  // Simulated throttling scales the main-thread time it observed, so a busy machine inflates
  // TBT (and with it the score); these say how busy this one was.
  const index = median(Object.values(runs).flatMap((list) => list.map((m) => m.benchmarkIndex)));
  const load = loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');
  console.log(`Machine: ${cpus().length} CPUs, load average ${load}; Lighthouse benchmarkIndex median ${index.toFixed(0)}`);

  for (const { name } of formFactors) {
    const without = medians(runs[`${name} without`]!);
    const withWidget = medians(runs[`${name} with`]!);
    const diff: Figures = {
      score: withWidget.score - without.score,
      fcp: withWidget.fcp - without.fcp,
      lcp: withWidget.lcp - without.lcp,
      tbt: withWidget.tbt - without.tbt,
      cls: Number((withWidget.cls - without.cls).toFixed(3)),
    };
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    console.log(`\n${name.padEnd(14)} score      FCP      LCP      TBT     CLS`);
    console.log(row('without', without));
    console.log(row('with', withWidget));
    console.log(row('difference', diff, true));
    console.log(
      `  goals: score ≥ −${GOALS.scoreDrop} ${verdict(-diff.score <= GOALS.scoreDrop)}, ` +
        `LCP ≤ +${GOALS.lcpMs} ms ${verdict(diff.lcp <= GOALS.lcpMs)}, CLS +${GOALS.clsAdded} ${verdict(diff.cls <= GOALS.clsAdded)}`,
    );
    const each = (variant: string) =>
      runs[`${name} ${variant}`]!.map(
        (m) => `${m.score}/${m.lcp.toFixed(0)}/${m.cls.toFixed(3)} (load ${m.load.toFixed(1)})`,
      ).join('  ');
    console.log(`  runs (score/LCP/CLS): without ${each('without')}; with ${each('with')}`);
    const widgetTasks = runs[`${name} with`]!.map(
      (m) => m.longTasks.filter((task) => WIDGET_SCRIPT.test(task)).join(', ') || 'none',
    );
    console.log(`  the widget's long tasks, each run: ${widgetTasks.join('; ')}`);
    // The run whose score is the median: what made its long tasks and layout shifts.
    for (const [variant, figures] of [
      ['without', without],
      ['with', withWidget],
    ] as const) {
      const variantRuns = runs[`${name} ${variant}`]!;
      const typical = variantRuns.find((m) => m.score === figures.score) ?? variantRuns[0]!;
      console.log(`  ${variant}, long tasks: ${typical.longTasks.join(', ') || 'none'}`);
      console.log(`  ${variant}, layout shifts: ${typical.shifts.join(', ') || 'none'}`);
    }
  }
  await page.close();
} finally {
  chrome.kill();
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
