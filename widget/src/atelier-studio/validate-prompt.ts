export type PromptCheck =
  { ok: true; prompt: string } | { ok: false; reason: 'empty' } | { ok: false; reason: 'too-long'; length: number; max: number };

/**
 * Checked before anything is sent, so a shopper hears about an empty or oversized
 * prompt at once. Length is in UTF-16 units, as the server's schema counts it.
 */
export function checkPrompt(raw: string, max: number): PromptCheck {
  const prompt = raw.trim();
  if (prompt.length === 0) return { ok: false, reason: 'empty' };
  if (prompt.length > max) return { ok: false, reason: 'too-long', length: prompt.length, max };
  return { ok: true, prompt };
}
