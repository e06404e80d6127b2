/**
 * The widget's files as the server serves them: `/widget.js`, the loader a storefront
 * includes, and the studio it imports, named after its content so that caches may keep
 * it for good. The widget's build writes the name; the server serves what matches.
 */
export const WIDGET_LOADER_PATH = '/widget.js';

/** `/atelier-studio.<10 hex digits>.js`; the file name is the first group. */
export const STUDIO_PATH = /^\/(atelier-studio\.[0-9a-f]{10}\.js)$/;

/** The studio's file name for its content's hex digest (any length from 10). */
export function studioFileName(contentHex: string): string {
  return `atelier-studio.${contentHex.slice(0, 10)}.js`;
}
