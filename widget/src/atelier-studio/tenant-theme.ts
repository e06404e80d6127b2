import { BRAND_COLOR_TOKENS, type BrandDensity, type WidgetBranding } from '@atelier/protocol';

/** The spacing factor (`--atelier-density`) of each named density. */
const DENSITY: Record<BrandDensity, string> = { compact: '0.75', comfortable: '1' };

/** One sheet per studio: two studios of two tenants on one page keep their own themes. */
const sheets = new WeakMap<ShadowRoot, CSSStyleSheet>();

/**
 * Makes the tenant's saved theme (from `welcome`) the studio's defaults. The values go
 * into private `--_tenant-*` properties on `:host` in a constructable stylesheet (no
 * `style` attribute, no `<style>`: allowed by a strict Content-Security-Policy), which
 * the widget's styles read only as the fallback of the public `--atelier-*` ones:
 * `var(--atelier-accent, var(--_tenant-accent, …))`. So the page's own `--atelier-*`,
 * on the element or anywhere above it, always wins over the tenant's theme.
 *
 * Each value is set with `setProperty`, which parses it as one value: a colour or font
 * name cannot close the rule and add others. No branding (or none yet) empties the sheet.
 */
export function applyTenantTheme(root: ShadowRoot, branding: WidgetBranding | undefined): void {
  let sheet = sheets.get(root);
  if (!sheet) {
    if (!branding || !root.adoptedStyleSheets) return;
    sheet = new CSSStyleSheet();
    sheets.set(root, sheet);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  }
  sheet.replaceSync(':host{}');
  const { style } = sheet.cssRules[0] as CSSStyleRule;
  const set = (name: string, value: unknown) => {
    if (typeof value === 'string' && value) style.setProperty(`--_tenant-${name}`, value);
  };
  for (const token of BRAND_COLOR_TOKENS) {
    set(
      token.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`),
      branding?.colors[token],
    );
  }
  set('font', branding?.fontFamily);
  set('radius', typeof branding?.radius === 'number' ? `${branding.radius}px` : null);
  set('density', branding?.density ? DENSITY[branding.density] : null);
}
