import {
  BASELINE_CONTENT_CATEGORIES,
  CONTENT_CATEGORIES,
  type ContentCategory,
  type PromptRefusalCategory,
  type TenantConfig,
} from '@atelier/protocol';
import { foldText } from './fold-text.js';
import { LEXICON } from './lexicon.js';
import { TermSet } from './match-terms.js';

/** Why a prompt is refused: the category, and the term or pattern that matched. */
export interface PromptRefusal {
  category: PromptRefusalCategory;
  /** The platform's or the tenant's term as written in its list, or the pattern's name. */
  matched: string;
}

interface CategoryTerms {
  terms: TermSet<string>;
  allowed: TermSet<string>;
}

/**
 * Instructions aimed at the system rather than descriptions of an image, read on the
 * folded text: an image model follows no instructions, so these only probe the service
 * around it (its rules, other tenants' data).
 */
const INJECTION_PATTERNS: readonly { name: string; pattern: RegExp }[] = [
  {
    name: 'override instructions',
    pattern:
      /\b(ignore|disregard|forget|override|bypass)\b(\s\w+){0,4}\s(previous|prior|above|earlier|all|any|your|the|system|safety)\b(\s\w+){0,3}\s(instructions?|prompts?|rules|guidelines|polic(y|ies)|filters?)\b/,
  },
  { name: 'system prompt', pattern: /\bsystem\s?prompts?\b/ },
  { name: 'developer mode', pattern: /\b(developer|god|admin)\s?mode\b|\bjailbreak/ },
  {
    name: 'role change',
    pattern:
      /\b(you are now|act as|pretend to be|switch to)\b(\s\w+){0,2}\s(system|admin|administrator|developer|operator|root)\b/,
  },
  { name: 'other tenants', pattern: /\b(other|another|every|all)\s(tenants?|accounts?|customers? data)\b/ },
];

/** Identifiers and keys (`ten_…`, `sk_live_…`), read on the raw text: a prompt has no use for them. */
const IDENTIFIER = /\b(?:ten|gen|img|upl|key|sk_live|sk_test|pk_live|pk_test|rt|whsec)_[A-Za-z0-9]{8,}/;

/**
 * The prompt policy: the platform's baseline categories, the tenant's banned categories
 * and terms, and prompt-injection patterns, checked on text folded against evasion
 * (fold-text.ts). The lexicon is compiled once; a tenant's terms on each check (at most
 * 500 short terms: microseconds).
 */
export class PromptPolicy {
  private readonly categories = new Map<ContentCategory, CategoryTerms>();

  constructor() {
    for (const category of CONTENT_CATEGORIES) {
      const terms = new TermSet<string>();
      const allowed = new TermSet<string>();
      for (const term of LEXICON[category].terms) terms.add(term, term);
      for (const phrase of LEXICON[category].allowed ?? []) allowed.add(phrase, phrase);
      this.categories.set(category, { terms, allowed });
    }
  }

  /** The first reason to refuse these texts under this policy, or undefined when they pass. */
  check(texts: readonly string[], policy: TenantConfig['contentPolicy']): PromptRefusal | undefined {
    const tenantTerms = new TermSet<string>();
    for (const term of policy.bannedTerms) tenantTerms.add(term, term);
    const refused = new Set<ContentCategory>([...BASELINE_CONTENT_CATEGORIES, ...policy.bannedCategories]);
    for (const text of texts) {
      if (IDENTIFIER.test(text)) return { category: 'prompt-injection', matched: 'identifier' };
      for (const tokens of foldText(text)) {
        const found = this.checkTokens(tokens, refused, tenantTerms);
        if (found) return found;
      }
    }
    return undefined;
  }

  private checkTokens(
    tokens: string[],
    refused: ReadonlySet<ContentCategory>,
    tenantTerms: TermSet<string>,
  ): PromptRefusal | undefined {
    const spaced = tokens.join(' ');
    for (const { name, pattern } of INJECTION_PATTERNS)
      if (pattern.test(spaced)) return { category: 'prompt-injection', matched: name };
    for (const match of tenantTerms.matches(tokens)) return { category: 'banned-term', matched: match.value };
    for (const category of refused) {
      const { terms, allowed } = this.categories.get(category)!;
      const exempt = [...allowed.matches(tokens)];
      for (const match of terms.matches(tokens)) {
        if (!exempt.some((phrase) => phrase.from <= match.from && phrase.to >= match.to))
          return { category, matched: match.value };
      }
    }
    return undefined;
  }
}
