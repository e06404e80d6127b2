import { z } from 'zod';
import { PERFORMANCES, PROMPT_MAX_LENGTH } from '../generation.js';
import { STYLE_LIBRARY } from '../style-library.js';
import { watermarkFields, watermarkText } from './generation.js';
import {
  BRAND_COLOR_TOKENS,
  BRAND_DENSITIES,
  CONFIG_LIMITS as LIMITS,
  CONFIG_OUTPUT_FORMATS,
  CONTENT_CATEGORIES,
  DEFAULT_PERFORMANCE,
  type BrandColorToken,
  type TenantConfig,
} from '../tenant-config.js';
import { FORBIDDEN_KEYS, forbiddenKeyPaths } from './safe-keys.js';

const performance = z.enum(PERFORMANCES, { error: `must be one of ${PERFORMANCES.join(', ')}` });
const styleName = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(LIMITS.styleName, `must be at most ${LIMITS.styleName} characters`);
const hexColour = z
  .string({ error: 'must be a hex colour (#rgb or #rrggbb)' })
  .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a hex colour (#rgb or #rrggbb)');
const httpsUrl = z
  .string({ error: 'must be an https URL' })
  .max(2048, 'must be at most 2048 characters')
  .refine((value) => {
    try {
      return new URL(value).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an https URL');
const locale = z
  .string()
  .regex(/^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/, 'must be a locale tag such as en or pt-BR')
  .refine((key) => !FORBIDDEN_KEYS.has(key), 'is not allowed as a key');
const messageKey = z
  .string()
  .regex(/^[a-z][A-Za-z0-9]{0,63}$/, 'must be a message key such as generate or promptLabel')
  .refine((key) => !FORBIDDEN_KEYS.has(key), 'is not allowed as a key');

function uniqueList<T extends z.ZodType<string>>(item: T, max: number, what: string) {
  return z
    .array(item, { error: 'must be a list' })
    .max(max, `must have at most ${max} ${what}`)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry');
}

const colors = z
  .strictObject(
    Object.fromEntries(BRAND_COLOR_TOKENS.map((token) => [token, hexColour.optional()])) as Record<
      BrandColorToken,
      z.ZodOptional<typeof hexColour>
    >,
  )
  .prefault({});

const customStyle = z.strictObject({
  name: styleName,
  prompt: z
    .string({ error: 'must be a string' })
    .max(PROMPT_MAX_LENGTH, `must be at most ${PROMPT_MAX_LENGTH} characters`)
    .refine((template) => template.includes('{prompt}'), 'must contain {prompt} where the shopper\u2019s words go'),
  negativePrompt: z
    .string({ error: 'must be a string' })
    .max(PROMPT_MAX_LENGTH, `must be at most ${PROMPT_MAX_LENGTH} characters`)
    .default(''),
});

const configObject = z
  .strictObject({
    presets: z
      .strictObject({
        default: performance.default(DEFAULT_PERFORMANCE),
        allowed: uniqueList(performance, PERFORMANCES.length, 'presets')
          .min(1, 'must allow at least one preset')
          .default([...PERFORMANCES]),
      })
      .prefault({}),
    styles: z
      .strictObject({
        allowed: uniqueList(styleName, LIMITS.customStyles, 'styles').default([]),
        default: uniqueList(styleName, LIMITS.customStyles, 'styles').default([]),
        custom: z
          .array(customStyle, { error: 'must be a list' })
          .max(LIMITS.customStyles, `must have at most ${LIMITS.customStyles} styles`)
          .default([]),
      })
      .prefault({}),
    loras: uniqueList(
      z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be a LoRA id'),
      LIMITS.loras,
      'LoRAs',
    ).default([]),
    contentPolicy: z
      .strictObject({
        bannedTerms: uniqueList(
          z
            .string({ error: 'must be a string' })
            .trim()
            .min(1, 'must not be empty')
            .max(LIMITS.bannedTermLength, `must be at most ${LIMITS.bannedTermLength} characters`),
          LIMITS.bannedTerms,
          'terms',
        ).default([]),
        bannedCategories: uniqueList(
          z.enum(CONTENT_CATEGORIES, { error: `must be one of ${CONTENT_CATEGORIES.join(', ')}` }),
          CONTENT_CATEGORIES.length,
          'categories',
        ).default([]),
        nsfwThreshold: z
          .number({ error: 'must be a number from 0 to 1' })
          .min(0, 'must be a number from 0 to 1')
          .max(1, 'must be a number from 0 to 1')
          .default(0.5),
        auditPromptText: z.boolean({ error: 'must be true or false' }).default(false),
      })
      .prefault({}),
    branding: z
      .strictObject({
        colors,
        fontFamily: z
          .string({ error: 'must be a string' })
          .regex(
            /^[A-Za-z0-9 ,'"_-]{1,200}$/,
            'must be a CSS font-family list of at most 200 letters, digits, spaces, commas, quotes and hyphens',
          )
          .nullable()
          .default(null),
        radius: z
          .number({ error: 'must be a number of pixels from 0 to 64' })
          .min(0, 'must be a number of pixels from 0 to 64')
          .max(64, 'must be a number of pixels from 0 to 64')
          .nullable()
          .default(null),
        density: z
          .enum(BRAND_DENSITIES, { error: `must be one of ${BRAND_DENSITIES.join(', ')}` })
          .nullable()
          .default(null),
        logoUrl: httpsUrl.nullable().default(null),
        strings: z
          .record(
            locale,
            z
              .record(
                messageKey,
                z
                  .string({ error: 'must be a string' })
                  .max(LIMITS.stringLength, `must be at most ${LIMITS.stringLength} characters`),
              )
              .refine(
                (strings) => Object.keys(strings).length <= LIMITS.stringsPerLocale,
                `must have at most ${LIMITS.stringsPerLocale} strings`,
              ),
          )
          .refine((locales) => Object.keys(locales).length <= LIMITS.locales, `must have at most ${LIMITS.locales} locales`)
          .default({}),
      })
      .prefault({}),
    output: z
      .strictObject({
        format: z.enum(CONFIG_OUTPUT_FORMATS, { error: `must be one of ${CONFIG_OUTPUT_FORMATS.join(', ')}` }).default('webp'),
        quality: z
          .number({ error: 'must be a whole number from 1 to 100' })
          .int('must be a whole number from 1 to 100')
          .min(1, 'must be a whole number from 1 to 100')
          .max(100, 'must be a whole number from 1 to 100')
          .default(90),
        watermark: z.boolean({ error: 'must be true or false' }).default(false),
        embedPrompt: z.boolean({ error: 'must be true or false' }).default(false),
        watermarkStyle: z
          .strictObject({
            text: watermarkText.nullable().default(null),
            logoImageId: z
              .string({ error: 'must be the id of one of your uploads (upl_…)' })
              .regex(/^upl_[A-Za-z0-9_-]{20}$/, 'must be the id of one of your uploads (upl_…)')
              .nullable()
              .default(null),
            position: watermarkFields.position.default('bottom-right'),
            opacity: watermarkFields.opacity.default(0.5),
            scale: watermarkFields.scale.default(0.04),
          })
          .prefault({}),
      })
      .prefault({}),
    retentionDays: z
      .number({ error: `must be a whole number of days from ${LIMITS.minRetentionDays} to ${LIMITS.maxRetentionDays}` })
      .int(`must be a whole number of days from ${LIMITS.minRetentionDays} to ${LIMITS.maxRetentionDays}`)
      .min(
        LIMITS.minRetentionDays,
        `must be a whole number of days from ${LIMITS.minRetentionDays} to ${LIMITS.maxRetentionDays}`,
      )
      .max(
        LIMITS.maxRetentionDays,
        `must be a whole number of days from ${LIMITS.minRetentionDays} to ${LIMITS.maxRetentionDays}`,
      )
      .default(30),
    productImageHosts: z
      .array(
        z
          .string({ error: 'must be a host name' })
          .regex(
            /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
            'must be a lower-case host name such as cdn.shopify.com',
          ),
      )
      .max(10, 'must list at most 10 hosts')
      .default([]),
  })
  .superRefine((config, ctx) => {
    if (!config.presets.allowed.includes(config.presets.default)) {
      ctx.addIssue({ code: 'custom', path: ['presets', 'default'], message: 'must be one of presets.allowed' });
    }
    const names = config.styles.custom.map((style) => style.name.toLowerCase());
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({
          code: 'custom',
          path: ['styles', 'custom', index, 'name'],
          message: 'must differ from every other style',
        });
      }
    });
    const builtIn = STYLE_LIBRARY.map((style) => style.name.toLowerCase());
    config.styles.allowed.forEach((name, index) => {
      if (!names.includes(name.toLowerCase()) && !builtIn.includes(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['styles', 'allowed', index],
          message: `"${name}" is neither a built-in style nor one of styles.custom`,
        });
      }
    });
    config.styles.default.forEach((name, index) => {
      const restricted = config.styles.allowed.length > 0;
      const known = names.includes(name.toLowerCase()) || builtIn.includes(name.toLowerCase());
      if (restricted ? !config.styles.allowed.includes(name) : !known) {
        const message = restricted
          ? `"${name}" is not one of styles.allowed`
          : `"${name}" is neither a built-in style nor one of styles.custom`;
        ctx.addIssue({ code: 'custom', path: ['styles', 'default', index], message });
      }
    });
  });

/**
 * A whole tenant configuration, every missing member filled with its default (so
 * `tenantConfigSchema.parse({})` is a new tenant's configuration). Unknown members are
 * errors, and a `__proto__`, `constructor` or `prototype` key anywhere is refused
 * before anything else looks at the value.
 */
export const tenantConfigSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const path of forbiddenKeyPaths(value)) {
      ctx.addIssue({ code: 'custom', path, message: 'is not allowed as a key' });
    }
  })
  .pipe(configObject) satisfies z.ZodType<TenantConfig>;

/** A new tenant's configuration. */
export function defaultTenantConfig(): TenantConfig {
  return tenantConfigSchema.parse({});
}
