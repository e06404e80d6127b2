import { CODE_MESSAGES } from '@atelier/protocol';
import { describe, expect, it } from 'vitest';
import { hasMessage, message, registerLocale } from './messages.js';

describe('messages', () => {
  it('fills in values', () => {
    expect(message('en', 'stageSampling', { step: 12, steps: 30 })).toBe('Generating… step 12 of 30');
  });

  it('falls back from region to language to English, key by key', () => {
    registerLocale('xx', { generate: 'Xenerate' });
    registerLocale('xx-YY', { sending: 'Yending…' });
    expect(message('xx-yy', 'sending')).toBe('Yending…');
    expect(message('XX-YY', 'generate')).toBe('Xenerate');
    expect(message('xx-YY', 'promptLabel')).toBe(message('en', 'promptLabel'));
    expect(message('zz', 'generate')).toBe('Generate');
    expect(message('', 'generate')).toBe('Generate');
  });

  it('has English words for the message of every code in the registry', () => {
    for (const [code, messageKey] of Object.entries(CODE_MESSAGES)) {
      expect(hasMessage('en', messageKey), `${code} → ${messageKey}`).toBe(true);
    }
    expect(hasMessage('en', 'errorNoSuchKey')).toBe(false);
  });
});
