import type { WidgetConfig } from '@atelier/protocol';
import { html, nothing } from 'lit';

/**
 * The tenant's logo URL when it is safe to show: https, or on the Atelier server's own
 * origin (the embed page's). The server only saves https URLs (tenant configuration);
 * this is the widget's own check, so a page or a proxy cannot smuggle in `javascript:`
 * or a plain-http tracker through the welcome message.
 */
export function safeLogoUrl(logoUrl: string | null | undefined, server: string): string | null {
  if (!logoUrl) return null;
  try {
    const url = new URL(logoUrl, server);
    return url.protocol === 'https:' || url.origin === new URL(server).origin ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The studio's first row: the prompt's label and, at the end, the tenant's logo. The row
 * is as tall with a logo as without (the logo is fitted into it), so nothing moves when
 * the logo arrives with `welcome`.
 */
export function renderHeader(config: WidgetConfig | null, server: string, label: string) {
  const logo = safeLogoUrl(config?.branding?.logoUrl, server);
  return html`<div class="studio__header">
    <label class="studio__label" for="prompt">${label}</label>
    ${logo ? html`<img part="logo" class="studio__logo" src=${logo} alt=${config!.tenantName} decoding="async" />` : nothing}
  </div>`;
}
