import { CODE_MESSAGES } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { de } from './locales/de.js';
import { es } from './locales/es.js';
import { fr } from './locales/fr.js';
import { ja } from './locales/ja.js';
import { type MessageKey, type Messages, type Plural, en } from './messages.js';
import { registerLocale, translatorFor } from './translator.js';

const BUNDLED = { de, fr, es, ja } satisfies Record<string, Messages>;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
const forms = (message: string | Plural): string[] => (typeof message === 'string' ? [message] : Object.values(message));

describe('translator', () => {
  it('fills in values, numbers formatted for the locale', () => {
    expect(translatorFor('en').t('stageSampling', { step: 12, steps: 30 })).toBe('Generating… step 12 of 30');
    const tooLong = { length: 2001, max: 2000 };
    expect(translatorFor('en').t('errorPromptTooLong', tooLong)).toContain('2,001 characters');
    expect(translatorFor('de').t('errorPromptTooLong', tooLong)).toBe(
      'Diese Beschreibung ist 2.001 Zeichen lang; bitte kürzen Sie sie auf höchstens 2.000.',
    );
    // Swiss German strings come from German, its numbers from Swiss German.
    expect(translatorFor('de-CH').t('errorPromptTooLong', tooLong)).toMatch(/2['’]001 Zeichen/);
    expect(translatorFor('fr').t('errorPromptTooLong', tooLong)).toContain('2\u202f001 caractères');
    expect(translatorFor('ja').t('queued', { position: 3 })).toBe('順番待ち：3番目');
  });

  it('picks plural forms with Intl.PluralRules', () => {
    expect(translatorFor('en').t('done', { n: 1 })).toBe('Done — your picture is ready.');
    expect(translatorFor('en').t('done', { n: 4 })).toBe('Done — 4 pictures are ready; pick the one you like.');
    expect(translatorFor('de').t('done', { n: 2 })).toBe('Fertig – 2 Bilder sind da. Wählen Sie Ihren Favoriten.');
    expect(translatorFor('ja').t('done', { n: 1 })).toBe('完成しました。画像が1枚できあがりました。');
  });

  it('says durations in whole seconds, and in minutes from 90 s, in the locale’s words', () => {
    expect(translatorFor('en').duration(0.2)).toBe('1 second');
    expect(translatorFor('en').duration(45)).toBe('45 seconds');
    expect(translatorFor('en').duration(89.4)).toBe('89 seconds');
    expect(translatorFor('en').duration(400)).toBe('7 minutes');
    expect(translatorFor('de').duration(45)).toBe('45 Sekunden');
    expect(translatorFor('es').duration(180)).toBe('3 minutos');
    expect(translatorFor('ja').duration(45)).toMatch(/^45\s?秒$/);
  });

  it('falls back from region to language to English, key by key', () => {
    registerLocale('xx', { generate: 'Xenerate' });
    registerLocale('xx-YY', { sending: 'Yending…' });
    expect(translatorFor('xx-yy').t('sending')).toBe('Yending…');
    expect(translatorFor('XX-YY').t('generate')).toBe('Xenerate');
    expect(translatorFor('xx-YY').t('promptLabel')).toBe(en.promptLabel);
    expect(translatorFor('de-AT').t('generate')).toBe('Generieren');
    expect(translatorFor('zz').t('generate')).toBe('Generate');
  });

  it('formats in English for a locale Intl cannot read, not in the browser’s language', () => {
    for (const tag of ['', 'not a tag!', 'zz']) {
      const i18n = translatorFor(tag);
      expect(i18n.t('generate')).toBe('Generate');
      expect(i18n.t('queued', { position: 1234 })).toBe('In queue — position 1,234');
    }
    expect(translatorFor('').locale).toBe('en');
    expect(translatorFor('de-ch').locale).toBe('de-CH');
  });

  it("puts a tenant's own words first, for that tenant only and never over a more specific language of ours", () => {
    const home = { en: { generate: 'Create my scene' }, DE: { generate: 'Szene erstellen', promptLabel: 'Ihre Idee' } };
    const fashion = { en: { generate: 'Style it' } };
    expect(translatorFor('en', home).t('generate')).toBe('Create my scene');
    expect(translatorFor('en', fashion).t('generate')).toBe('Style it');
    expect(translatorFor('en').t('generate')).toBe('Generate');
    expect(translatorFor('de-AT', home).t('promptLabel')).toBe('Ihre Idee');
    // The tenant wrote no French: our French wins over the tenant's English.
    expect(translatorFor('fr', home).t('generate')).toBe('Générer');
    // A tenant's string fills placeholders too, and stands for every plural form.
    const counted = { en: { done: 'All {n} ready!' } };
    expect(translatorFor('en', counted).t('done', { n: 1 })).toBe('All 1 ready!');
    // Keys the widget does not have, and values that are not strings, change nothing.
    const odd = { en: { noSuchKey: 'x', generate: 5 } } as unknown as Record<string, Record<string, string>>;
    expect(translatorFor('en', odd).t('generate')).toBe('Generate');
    expect(translatorFor('en', odd).has('noSuchKey')).toBe(true);
    expect(translatorFor('en', odd).has('toString')).toBe(false);
  });
});

describe('bundled locales', () => {
  it('has English words for the message of every code in the registry', () => {
    for (const [code, messageKey] of Object.entries(CODE_MESSAGES)) {
      expect(Object.hasOwn(en, messageKey), `${code} → ${messageKey}`).toBe(true);
    }
  });

  /** Keys whose words are the same as in English: names that need no translation. */
  const SAME_AS_ENGLISH: Record<keyof typeof BUNDLED, string[]> = {
    de: ['resultAlt'],
    fr: ['resultAlt', 'stylesLegend', 'shapePortrait'],
    es: ['resultAlt'],
    ja: ['resultAlt'],
  };

  for (const [tag, messages] of Object.entries(BUNDLED) as [keyof typeof BUNDLED, Messages][]) {
    it(`${tag} translates every key, with the placeholders and plural forms it needs`, () => {
      expect(Object.keys(messages).sort()).toEqual(Object.keys(en).sort());
      const rules = new Intl.PluralRules(tag);
      const same: string[] = [];
      for (const key of Object.keys(en) as MessageKey[]) {
        const english = en[key];
        const translated = messages[key];
        expect(typeof translated, key).toBe(typeof english);
        if (JSON.stringify(translated) === JSON.stringify(english)) same.push(key);
        const wanted = placeholders(forms(english).at(-1)!);
        if (typeof translated === 'string') {
          expect(translated.trim(), key).not.toBe('');
          expect(placeholders(translated), `${tag}.${key}`).toEqual(wanted);
          continue;
        }
        // `other` says the count; another form may leave it out ("your picture is ready").
        expect(placeholders(translated.other), `${tag}.${key}.other`).toEqual(wanted);
        for (const text of forms(translated)) {
          expect(text.trim(), key).not.toBe('');
          for (const name of placeholders(text)) expect(wanted).toContain(name);
        }
        // Each category the language uses for small counts has its form (large ones may share `other`).
        for (const category of new Set([1, 2, 3, 5, 11, 22].map((n) => rules.select(n)))) {
          expect(translated, `${tag}.${key}.${category}`).toHaveProperty(category);
        }
        for (const category of Object.keys(translated)) expect(rules.resolvedOptions().pluralCategories).toContain(category);
      }
      expect(same).toEqual(SAME_AS_ENGLISH[tag]);
    });
  }

  it('are complete by type: a locale missing a key does not compile', () => {
    const { generate: _dropped, ...incomplete } = de;
    // @ts-expect-error generate is missing
    const missing: Messages = incomplete;
    expect(Object.hasOwn(missing, 'generate')).toBe(false);
  });
});
