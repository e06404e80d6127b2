/** How many of a shopper's latest generations a reload brings back. */
export const RECENT_LIMIT = 12;

/** One remembered generation: enough to ask for it again and to vary it. */
export interface RecentEntry {
  /** The generation id (`gen_…`). */
  id: string;
  /** The token of the socket session that made it: proof for `watch` (for as long as the tenant keeps results). */
  session: string;
  prompt: string;
}

/**
 * Who the list belongs to: the tenant (its publishable key) and the shopper. A shopper
 * session names its shopper in the token's `sub` (read, not verified: this only picks
 * a storage slot, the server decides what the shopper may see); an anonymous browser has
 * one slot per tenant. Two tenants or two shoppers on one browser never share a list.
 */
export function recentKey(publishableKey: string, shopperToken: string): string {
  let shopper = 'anonymous';
  if (shopperToken) {
    try {
      const payload = shopperToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
      shopper = `shopper:${String((JSON.parse(atob(payload)) as { sub?: unknown }).sub)}`;
    } catch {
      shopper = `token:${shopperToken}`;
    }
  }
  return `atelier-recent:${publishableKey}:${shopper}`;
}

/** The remembered list, newest first; empty when storage is off, denied or holds junk. */
export function loadRecent(key: string): RecentEntry[] {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? '[]') as unknown;
    if (!Array.isArray(stored)) return [];
    return stored
      .filter(
        (entry: Partial<RecentEntry>): entry is RecentEntry =>
          typeof entry?.id === 'string' && typeof entry.session === 'string' && typeof entry.prompt === 'string',
      )
      .slice(0, RECENT_LIMIT);
  } catch {
    return [];
  }
}

/** Stores the list (bounded); private modes and full or denied storage simply remember nothing. */
export function saveRecent(key: string, entries: readonly RecentEntry[]): void {
  try {
    localStorage.setItem(key, JSON.stringify(entries.slice(0, RECENT_LIMIT)));
  } catch {
    // Nothing to do: the results stay on screen, they just will not survive a reload.
  }
}

/**
 * Run by the loader before the studio is defined: `has-recent` on an inline studio whose
 * shopper has remembered pictures, so the page's `:not(:defined)` rule can reserve the
 * gallery's row too (README), the one part of the studio's height that storage decides.
 */
export function markRemembered(element: Element): void {
  const key = recentKey(element.getAttribute('publishable-key') ?? '', element.getAttribute('session-token') ?? '');
  if (element.getAttribute('publishable-key') && loadRecent(key).length > 0) element.setAttribute('has-recent', '');
}
