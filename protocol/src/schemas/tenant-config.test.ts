import { describe, expect, it } from 'vitest';
import { describeIssues } from './issues.js';
import { defaultTenantConfig, tenantConfigSchema } from './tenant-config.js';

function problems(value: unknown): string {
  const result = tenantConfigSchema.safeParse(value);
  if (result.success) throw new Error('the value was accepted');
  return describeIssues(result.error).summary;
}

describe('tenantConfigSchema', () => {
  it('fills every default from nothing', () => {
    expect(defaultTenantConfig()).toEqual({
      presets: { default: 'speed', allowed: ['quality', 'speed', 'extreme-speed', 'lightning'] },
      styles: { allowed: [], default: [], custom: [] },
      loras: [],
      contentPolicy: { bannedTerms: [], bannedCategories: [], nsfwThreshold: 0.5, auditPromptText: false },
      branding: { colors: {}, fontFamily: null, radius: null, density: null, logoUrl: null, strings: {} },
      output: {
        format: 'webp',
        quality: 90,
        watermark: false,
        embedPrompt: false,
        watermarkStyle: { text: null, logoImageId: null, position: 'bottom-right', opacity: 0.5, scale: 0.04 },
      },
      retentionDays: 30,
      productImageHosts: [],
    });
  });

  it('keeps what it is given and fills the rest', () => {
    const config = tenantConfigSchema.parse({
      branding: { colors: { accent: '#1A2b3c' }, strings: { 'pt-BR': { generate: 'Gerar' } } },
      styles: {
        custom: [{ name: 'Studio', prompt: 'studio photo of {prompt}' }],
        allowed: ['Studio'],
        default: ['Studio'],
      },
    });
    expect(config.branding.colors).toEqual({ accent: '#1A2b3c' });
    expect(config.branding.strings).toEqual({ 'pt-BR': { generate: 'Gerar' } });
    expect(config.styles.custom).toEqual([{ name: 'Studio', prompt: 'studio photo of {prompt}', negativePrompt: '' }]);
    expect(config.output.format).toBe('webp');
  });

  it.each([
    ['a colour that is not hex', { branding: { colors: { accent: 'red' } } }, 'branding.colors.accent: must be a hex colour'],
    ['an unknown colour token', { branding: { colors: { accentt: '#fff' } } }, 'branding.colors.accentt: unknown field'],
    ['an unknown top-level field', { plan: { $ne: '' } }, 'plan: unknown field'],
    ['an unknown density', { branding: { density: 'cosy' } }, 'branding.density: must be one of compact, comfortable'],
    ['a logo over http', { branding: { logoUrl: 'http://shop.example/logo.png' } }, 'branding.logoUrl: must be an https URL'],
    ['a template without {prompt}', { styles: { custom: [{ name: 'X', prompt: 'studio' }] } }, 'styles.custom.0.prompt'],
    ['an NSFW threshold above 1', { contentPolicy: { nsfwThreshold: 1.5 } }, 'contentPolicy.nsfwThreshold'],
    ['a quality of 0', { output: { quality: 0 } }, 'output.quality: must be a whole number from 1 to 100'],
    ['an unknown format', { output: { format: 'gif' } }, 'output.format: must be one of png, webp, jpeg, avif'],
    ['a default preset that is not allowed', { presets: { default: 'quality', allowed: ['speed'] } }, 'presets.default'],
    [
      'an allowed style that does not exist',
      { styles: { allowed: ['Nope'] } },
      'styles.allowed.0: "Nope" is neither a built-in style nor one of styles.custom',
    ],
    ['a CSS injection in the font', { branding: { fontFamily: 'x; } body { display: none' } }, 'branding.fontFamily'],
    ['a locale that is not a tag', { branding: { strings: { $where: { generate: 'x' } } } }, 'branding.strings.$where'],
    ['zero retention days', { retentionDays: 0 }, 'retentionDays'],
  ])('refuses %s and names the field', (_label, value, expected) => {
    expect(problems(value)).toContain(expected);
  });

  it.each([
    ['__proto__', '{"branding": {"strings": {"en": {"__proto__": {"polluted": "yes"}}}}}', 'branding.strings.en.__proto__'],
    ['constructor', '{"branding": {"strings": {"en": {"constructor": "x"}}}}', 'branding.strings.en.constructor'],
    ['__proto__ at the top', '{"__proto__": {"retentionDays": 1}}', '__proto__'],
  ])('refuses a %s key anywhere, and pollutes nothing', (_label, json, field) => {
    expect(problems(JSON.parse(json))).toContain(`${field}: is not allowed as a key`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
