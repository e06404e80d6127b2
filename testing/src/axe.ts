import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Frame, Page } from '@playwright/test';

/** One rule axe-core found broken: its id, impact and the targets (as JSON) it found it on. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: string[];
}

let axeSource: Promise<string> | undefined;

/**
 * axe-core's violations inside `selector` (shadow roots included) in a page or a frame.
 * axe-core from the npm registry goes in through the DevTools protocol (`evaluate`),
 * which a page's strict Content-Security-Policy does not stop, as a script tag would be.
 */
export async function axeViolations(target: Page | Frame, selector = 'atelier-studio'): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await target.evaluate(() => 'axe' in globalThis))) await target.evaluate(await axeSource);
  return target.evaluate(async (context) => {
    const { axe } = globalThis as unknown as {
      axe: {
        run(
          context: string,
          options: object,
        ): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }>;
      };
    };
    const result = await axe.run(context, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.map((node) => JSON.stringify(node.target)),
    }));
  }, selector);
}
