import { de } from './locales/de.js';
import { es } from './locales/es.js';
import { fr } from './locales/fr.js';
import { ja } from './locales/ja.js';
import { type MessageKey, type MessageValues, type Messages, type Plural, en } from './messages.js';

/** A tenant's own words by locale and message key (`branding.strings` of its configuration). */
export type TenantStrings = Readonly<Record<string, Readonly<Record<string, string>>>>;

type Source = Readonly<Partial<Record<MessageKey, string | Plural>>>;

const locales = new Map<string, Source>([
  ['en', en],
  ['de', de],
  ['fr', fr],
  ['es', es],
  ['ja', ja],
]);

/**
 * Adds (or extends) a locale for every studio on the page, e.g.
 * `registerLocale('fr', {generate: 'Générer'})`; keys it lacks fall back to English.
 * Tags are matched case-insensitively.
 */
export function registerLocale(locale: string, messages: Partial<Messages>): void {
  const tag = locale.toLowerCase();
  locales.set(tag, { ...locales.get(tag), ...messages });
}

/** Messages, numbers, plurals and durations in one locale, with one tenant's own words. */
export interface Translator {
  /** The BCP 47 tag `Intl` formats with (`en` when the attribute is not a valid tag). */
  readonly locale: string;
  t(key: MessageKey, values?: MessageValues): string;
  has(key: string): key is MessageKey;
  /** "about 45 seconds" / "about 3 minutes": estimates are rough, so no finer than that. */
  duration(seconds: number): string;
}

/** `de-AT` → [`de-AT`, `en`]; a tag `Intl` cannot read → [`en`]. Unsupported tags fall to `en`, not the browser's own. */
function intlLocales(locale: string): string[] {
  try {
    return [...Intl.getCanonicalLocales(locale), 'en'];
  } catch {
    return ['en'];
  }
}

function translator(locale: string, strings: TenantStrings): Translator {
  const tenant = new Map(Object.entries(strings).map(([tag, words]) => [tag.toLowerCase(), words]));
  const parts = locale.toLowerCase().split('-').filter(Boolean);
  // `fr-CA` → the tenant's fr-ca, ours, the tenant's fr, ours, then English likewise: a
  // tenant's words win at each level, but never over a more specific language of ours.
  const tags = [...parts.map((_, i) => parts.slice(0, parts.length - i).join('-')), 'en'];
  const intl = intlLocales(locale);
  // Made on first use: a page's first Intl.NumberFormat loads ICU's number data (about
  // 100 ms on a throttled phone), and the idle studio shows no number.
  let numbers: Intl.NumberFormat | undefined;
  let plurals: Intl.PluralRules | undefined;

  const lookup = (key: string): string | Plural | undefined => {
    for (const tag of tags) {
      const own = tenant.get(tag);
      if (own && Object.hasOwn(own, key) && typeof own[key] === 'string') return own[key];
      const ours = locales.get(tag);
      if (ours && Object.hasOwn(ours, key)) return ours[key as MessageKey];
    }
    return undefined;
  };

  return {
    locale: intl[0]!,
    t(key, values = {}) {
      const found: string | Plural = lookup(key) ?? en[key];
      const template =
        typeof found === 'string'
          ? found
          : (found[(plurals ??= new Intl.PluralRules(intl)).select(Number(values['n'] ?? 0))] ?? found.other);
      return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
        const value = values[name];
        return value === undefined
          ? whole
          : typeof value === 'number'
            ? (numbers ??= new Intl.NumberFormat(intl)).format(value)
            : value;
      });
    },
    has: (key): key is MessageKey => lookup(key) !== undefined,
    duration(seconds) {
      const s = Math.max(1, Math.round(seconds));
      const [value, unit] = s < 90 ? [s, 'second'] : [Math.round(s / 60), 'minute'];
      return new Intl.NumberFormat(intl, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
    },
  };
}

const NO_STRINGS: TenantStrings = {};
/** Per tenant strings object (each welcome brings its own), then per locale. */
const cache = new WeakMap<TenantStrings, Map<string, Translator>>();

/**
 * The translator for a locale and a tenant's strings, made once per pair: each studio
 * passes its own tenant's strings, so two tenants on one page never share words.
 */
export function translatorFor(locale: string, strings: TenantStrings = NO_STRINGS): Translator {
  let byLocale = cache.get(strings);
  if (!byLocale) cache.set(strings, (byLocale = new Map<string, Translator>()));
  let found = byLocale.get(locale);
  if (!found) byLocale.set(locale, (found = translator(locale, strings)));
  return found;
}
