/**
 * A tenant's configuration (`GET/PUT /v1/config`): what its studio offers, how it looks,
 * what it refuses, and how long its data is kept. The schema (with every default) is
 * `tenantConfigSchema` in `@atelier/protocol/schemas`.
 */
import { OUTPUT_FORMATS, type OutputFormat, type Performance, type Watermark } from './generation.js';

/** The preset a new tenant's studio starts on. */
export const DEFAULT_PERFORMANCE: Performance = 'speed';

/** Formats a tenant may ask its images to be delivered in: every format a runner writes. */
export const CONFIG_OUTPUT_FORMATS = OUTPUT_FORMATS;
export type ConfigOutputFormat = OutputFormat;

/** Categories of content a tenant can refuse outright (its content policy). */
export const CONTENT_CATEGORIES = [
  'nudity',
  'sexual',
  'violence',
  'gore',
  'hate',
  'harassment',
  'self-harm',
  'drugs',
  'weapons',
  'political',
  'public-figures',
] as const;
export type ContentCategory = (typeof CONTENT_CATEGORIES)[number];

/**
 * Categories every tenant refuses: the platform's baseline, on top of which a tenant's
 * `bannedCategories` and `bannedTerms` add its own.
 */
export const BASELINE_CONTENT_CATEGORIES = [
  'nudity',
  'sexual',
  'gore',
  'hate',
  'self-harm',
] as const satisfies readonly ContentCategory[];

/**
 * Why a prompt was refused (`category` of a `content_policy` error): a content category,
 * one of the tenant's own banned terms, or an attempt to instruct the system rather than
 * describe an image (to override its rules, or to reach another tenant's data).
 */
export type PromptRefusalCategory = ContentCategory | 'banned-term' | 'prompt-injection';

/** The widget's colour tokens (`--atelier-<kebab-case name>`) a tenant's theme may set. */
export const BRAND_COLOR_TOKENS = [
  'accent',
  'accentContrast',
  'background',
  'surface',
  'text',
  'muted',
  'border',
  'danger',
] as const;
export type BrandColorToken = (typeof BRAND_COLOR_TOKENS)[number];

/** How tightly the widget is spaced: `compact` for busy pages, `comfortable` (its default) elsewhere. */
export const BRAND_DENSITIES = ['compact', 'comfortable'] as const;
export type BrandDensity = (typeof BRAND_DENSITIES)[number];

export const CONFIG_LIMITS = {
  customStyles: 50,
  styleName: 64,
  loras: 20,
  bannedTerms: 500,
  bannedTermLength: 100,
  locales: 20,
  stringsPerLocale: 200,
  stringLength: 500,
  minRetentionDays: 1,
  maxRetentionDays: 3650,
} as const;

/** A style of the tenant's own: its template wraps the shopper's prompt. */
export interface CustomStyle {
  name: string;
  /** Contains `{prompt}` exactly where the shopper's words go. */
  prompt: string;
  negativePrompt: string;
}

export interface TenantConfig {
  presets: {
    /** Used when a request names no `performance`; one of `allowed`. */
    default: Performance;
    /** What shoppers and the API may ask for; bounded by the plan. */
    allowed: Performance[];
  };
  styles: {
    /**
     * Style names a request may name: built-in ones (`STYLE_LIBRARY`) and custom ones.
     * Empty (the default): every built-in and custom style.
     */
    allowed: string[];
    /** Applied when a request names no styles; each one of `allowed` (or any style when `allowed` is empty). */
    default: string[];
    custom: CustomStyle[];
  };
  /** LoRA ids the tenant may use (the LoRAs themselves arrive later). */
  loras: string[];
  contentPolicy: {
    bannedTerms: string[];
    bannedCategories: ContentCategory[];
    /** A classifier score above this refuses the image: 0 refuses everything, 1 nothing. */
    nsfwThreshold: number;
    /**
     * Whether the audit entry of a refused prompt keeps the prompt's text. Off (the
     * default): only its length, its SHA-256 and what matched.
     */
    auditPromptText: boolean;
  };
  branding: {
    /** Hex colours (`#rgb`, `#rrggbb`); an absent token keeps the widget's default. */
    colors: Partial<Record<BrandColorToken, string>>;
    /** A CSS font-family list; null keeps the widget's default. */
    fontFamily: string | null;
    /** Corner radius in CSS pixels; null keeps the widget's default. */
    radius: number | null;
    /** Spacing of the widget; null keeps the widget's default (comfortable). */
    density: BrandDensity | null;
    /** An https URL; null for none. */
    logoUrl: string | null;
    /** Texts that replace the widget's own, by locale and message key: `{en: {generate: 'Create'}}`. */
    strings: Record<string, Record<string, string>>;
  };
  output: {
    format: ConfigOutputFormat;
    /** 1–100, for the lossy formats. */
    quality: number;
    watermark: boolean;
    /** Whether the prompt is embedded in the image's metadata with the rest of its provenance. */
    embedPrompt: boolean;
    /**
     * How the watermark looks when there is one: the tenant's logo when `logoImageId` names
     * one of its uploads (`POST /v1/uploads`; a PNG with transparency suits best), else its
     * text, which defaults to the tenant's name.
     */
    watermarkStyle: Omit<Watermark, 'text' | 'logoAssetId'> & { text: string | null; logoImageId: string | null };
  };
  /** Days generated images and their records are kept. */
  retentionDays: number;
  /**
   * Host names (besides the tenant's allowed origins) the server may fetch product photos
   * from when a request names one by URL (`inputImageUrl`), e.g. `cdn.shopify.com`.
   */
  productImageHosts: string[];
}

type PatchOf<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: PatchOf<T[K]> | null } : T;

/**
 * The body of `PUT /v1/config`: a JSON merge patch (RFC 7396) of `TenantConfig`. Members
 * present replace, objects merge member by member, arrays replace whole, and `null`
 * resets a member to its default.
 */
export type TenantConfigPatch = PatchOf<TenantConfig>;
