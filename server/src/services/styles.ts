import { PROMPT_MAX_LENGTH, STYLE_LIBRARY, type PromptStyle, type TenantConfig } from '@atelier/protocol';
import { invalidRequest } from '../errors/app-error.js';

const SLOT = '{prompt}';

/** Built-in styles and the tenant's own, by lower-cased name; a custom style replaces a built-in of its name. */
export function availableStyles(config: TenantConfig): Map<string, PromptStyle> {
  const styles = new Map<string, PromptStyle>();
  for (const style of [...STYLE_LIBRARY, ...config.styles.custom]) styles.set(style.name.toLowerCase(), style);
  return styles;
}

/** The styles a tenant's requests may name: `styles.allowed` when it lists any, otherwise every available one. */
export function allowedStyles(config: TenantConfig): PromptStyle[] {
  const available = availableStyles(config);
  if (config.styles.allowed.length === 0) return [...available.values()];
  return config.styles.allowed.flatMap((name) => available.get(name.toLowerCase()) ?? []);
}

/**
 * The styles a request names (or the tenant's defaults when it names none), checked
 * against what the tenant allows; the error names the first style that is not allowed.
 */
export function pickStyles(requested: string[] | undefined, config: TenantConfig): PromptStyle[] {
  const names = requested ?? config.styles.default;
  const allowed = new Map(allowedStyles(config).map((style) => [style.name.toLowerCase(), style]));
  const available = availableStyles(config);
  return names.map((name) => {
    const style = allowed.get(name.toLowerCase());
    if (style) return style;
    throw invalidRequest(
      available.has(name.toLowerCase())
        ? `style "${name}" is not enabled for this account`
        : `style "${name}" does not exist; GET /v1/config lists the account's styles`,
    );
  });
}

/**
 * The prompt and negative prompt after `styles`, in order. The user's words fill the
 * `{prompt}` slot of the first style that has one (later slots are dropped); when no style
 * has a slot they come first. Texts are joined with ", ". The negative prompt stays absent
 * when neither the request nor any style has one, so the runner keeps zero embeddings.
 */
export function applyStyles(
  prompt: string,
  negativePrompt: string | undefined,
  styles: readonly PromptStyle[],
): { prompt: string; negativePrompt?: string } {
  if (styles.length === 0) return { prompt, ...(negativePrompt !== undefined && { negativePrompt }) };
  let filled = false;
  const parts = styles.map((style) => {
    if (!style.prompt.includes(SLOT)) return style.prompt;
    const text = filled ? style.prompt.replaceAll(SLOT, '') : fillFirst(style.prompt, prompt);
    filled = true;
    return tidy(text);
  });
  const positive = join(filled ? parts : [prompt, ...parts]);
  const negatives = [negativePrompt ?? '', ...styles.map((style) => style.negativePrompt)];
  const negative = join(negatives);
  if (positive.length > PROMPT_MAX_LENGTH || negative.length > PROMPT_MAX_LENGTH) {
    throw invalidRequest(
      `the prompt with its styles is ${Math.max(positive.length, negative.length)} characters; at most ${PROMPT_MAX_LENGTH} fit (use fewer styles or a shorter prompt)`,
    );
  }
  return { prompt: positive, ...((negativePrompt !== undefined || negative) && { negativePrompt: negative }) };
}

function fillFirst(template: string, prompt: string): string {
  const at = template.indexOf(SLOT);
  return template.slice(0, at) + prompt + template.slice(at + SLOT.length).replaceAll(SLOT, '');
}

/** A template whose slot was dropped may keep a dangling ", " at either end or doubled. */
function tidy(text: string): string {
  return text
    .replace(/\s*,\s*(,\s*)+/g, ', ')
    .replace(/^[\s,]+|[\s,]+$/g, '')
    .replace(/\s{2,}/g, ' ');
}

function join(parts: readonly string[]): string {
  return parts
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .join(', ');
}
