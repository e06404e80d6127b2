/**
 * The theme app extension's files as Shopify reads them: where they are, and each
 * block's `{% schema %}`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXTENSION_DIR = fileURLToPath(new URL('../extensions/atelier-studio/', import.meta.url));

export interface ExtensionFile {
  /** Relative to the extension's folder, with `/`. */
  path: string;
  bytes: number;
}

/** Every file Shopify would upload, folders walked. */
export function extensionFiles(dir = EXTENSION_DIR): ExtensionFile[] {
  const files: ExtensionFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push({ path: relative(dir, path).split('\\').join('/'), bytes: statSync(path).size });
    }
  };
  walk(dir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export interface SchemaSetting {
  type: string;
  id?: string;
  label?: string;
  default?: unknown;
  options?: { value: string; label: string }[];
  [key: string]: unknown;
}

export interface BlockSchema {
  name: string;
  target: string;
  settings?: SchemaSetting[];
  stylesheet?: string;
  javascript?: string;
  enabled_on?: { templates?: string[]; groups?: string[] };
  [key: string]: unknown;
}

/** The JSON inside the `{% schema %}` tag of blocks/`file`; throws when there is none or it is not JSON. */
export function blockSchema(file: string, dir = EXTENSION_DIR): BlockSchema {
  const source = readFileSync(join(dir, 'blocks', file), 'utf8');
  const match = /{%-?\s*schema\s*-?%}([\s\S]*?){%-?\s*endschema\s*-?%}/.exec(source);
  if (!match) throw new Error(`${file} has no {% schema %}`);
  return JSON.parse(match[1]!) as BlockSchema;
}

/** A block's settings as Shopify hands them to Liquid: each schema default, then `overrides`. */
export function blockSettings(schema: BlockSchema, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const setting of schema.settings ?? []) if (setting.id) settings[setting.id] = setting.default ?? '';
  return { ...settings, ...overrides };
}
