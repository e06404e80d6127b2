import { readFile } from 'node:fs/promises';

/**
 * The environment variables README.md's "Configuration" table lists: every backticked
 * upper-case name in the first column of its rows.
 */
export async function documentedVariables(): Promise<Set<string>> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /^## Configuration\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const names = new Set<string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('|'))) {
    const firstCell = row.split('|')[1] ?? '';
    for (const [, name] of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(name!);
  }
  return names;
}

/**
 * The names a configuration loader reads from the environment it is handed, recorded by
 * handing it a proxy over `env`. A loader that copies the whole environment (a spread)
 * would enumerate it, and is refused: it could not say what it depends on.
 */
export function variablesRead(
  load: (env: Record<string, string | undefined>) => unknown,
  env: Record<string, string> = {},
): Set<string> {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name) as unknown;
    },
    has(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.has(target, name);
    },
    ownKeys() {
      throw new Error('the loader enumerated the whole environment');
    },
  });
  load(proxy);
  return read;
}
