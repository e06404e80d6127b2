/** The sheet holding each studio's room before its first render (one per shadow root). */
const holds = new WeakMap<ShadowRoot, CSSStyleSheet>();

/**
 * Keeps a shadow root's host at least `height` px tall (null lets go): a constructed
 * sheet adopted by the root, so the page's own element gains no attribute and a strict
 * Content-Security-Policy allows it.
 */
export function holdRoom(root: ShadowRoot, height: number | null): void {
  let sheet = holds.get(root);
  if (height === null) {
    if (sheet) root.adoptedStyleSheets = root.adoptedStyleSheets.filter((adopted) => adopted !== sheet);
    holds.delete(root);
    return;
  }
  if (!sheet) {
    holds.set(root, (sheet = new CSSStyleSheet()));
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  }
  sheet.replaceSync(`:host{min-height:${height}px}`);
}
