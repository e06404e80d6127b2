import type { ShopperMessageKey } from '@atelier/protocol';

/**
 * Every string a shopper can read, keyed so that locales can be added without
 * touching the component. `{name}` marks a value filled in by `message()`.
 */
const en = {
  promptLabel: 'Describe the picture you want',
  promptPlaceholder: 'e.g. a lamp on a walnut desk, soft morning light',
  promptPlaceholderProduct: 'e.g. {product} on a marble counter, soft morning light',
  generate: 'Generate',
  progressLabel: 'Generation progress',
  productPhoto: 'Product photo',
  resultAlt: '{prompt}',
  resultAltOf: '{prompt} ({n} of {total})',
  previewAlt: 'Preview of the picture being generated',
  canvasEmpty: 'Your pictures will appear here.',
  launcher: 'Create a picture',
  close: 'Close',
  stylesLegend: 'Style',
  moreOptions: 'More options',
  shapeLegend: 'Shape',
  shapeSquare: 'Square',
  shapePortrait: 'Portrait',
  shapeLandscape: 'Landscape',
  shapeTall: 'Tall',
  shapeWide: 'Wide',
  performanceLegend: 'Speed and quality',
  performanceQuality: 'Best quality',
  performanceSpeed: 'Balanced',
  performanceExtremeSpeed: 'Fast',
  performanceLightning: 'Fastest',
  countLegend: 'Pictures',

  connecting: 'Connecting to the studio…',
  reconnecting: 'Reconnecting to the studio…',
  unreachable: "Can't reach the studio — retrying in {seconds} s",
  sending: 'Sending…',
  accepted: 'Request received…',
  queued: 'In queue — position {position}',
  queuedEta: 'In queue — position {position} (about {eta})',
  waitingForGpu: 'Waiting for a GPU to come online — your request is saved and will start automatically.',
  stageLoading: 'Warming up…',
  stageEncoding: 'Reading your description…',
  stageSampling: 'Generating… step {step} of {steps}',
  stageDecoding: 'Developing the picture…',
  stageUploading: 'Almost there…',
  done: 'Done — pick the picture you like.',
  announceQueued: 'Your request is in the queue.',
  announceStarted: 'Generating your picture…',
  announceHalfway: 'Halfway there…',
  announceSelected: 'Picture {n} selected.',
  seconds: '{n} s',
  minutes: '{n} min',

  errorEmptyPrompt: 'Describe the picture you want first.',
  errorPromptTooLong: 'That description is {length} characters long; please keep it under {max}.',
  errorNotConfigured: 'This studio is not set up yet: it has no publishable key.',
  errorRefused: 'This studio is not available on this site: its key, address or shopper session was refused.',
  errorInvalidServer: 'This studio cannot start: its server address is not valid.',
  errorGeneric: 'Something went wrong. Please try again.',
  // One per message key of the protocol's code registry (checked below).
  errorInvalidRequest: 'That request could not be used. Please change it and try again.',
  errorForbidden: 'That option is not available in this studio.',
  errorNotFound: 'That picture is no longer available.',
  errorConflict: 'That request was already sent with other settings.',
  errorContentPolicy: 'That description is not allowed here. Please try another one.',
  errorInsufficientCredits: 'This studio has run out of credits for now.',
  errorRateLimited: 'Too many requests right now. Please try again in a moment.',
  errorUnavailable: 'The studio is busy for a moment. Please try again shortly.',
  errorOutdated: 'This studio was updated. Please reload the page.',
  errorCanceled: 'The picture was cancelled.',
};

// Every message a server code can lead to has English words here.
en satisfies Record<ShopperMessageKey, string>;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

const locales = new Map<string, Partial<Messages>>([['en', en]]);

/**
 * Adds (or extends) a locale, e.g. `registerLocale('fr', {generate: 'Générer'})`;
 * keys it lacks fall back to English. Tags are matched case-insensitively.
 */
export function registerLocale(locale: string, messages: Partial<Messages>): void {
  const tag = locale.toLowerCase();
  locales.set(tag, { ...locales.get(tag), ...messages });
}

/** `fr-CA` → `fr-ca`, `fr`, `en`: the most specific registered locale wins. */
function chain(locale: string): Partial<Messages>[] {
  const found: Partial<Messages>[] = [];
  const parts = locale.toLowerCase().split('-').filter(Boolean);
  for (let i = parts.length; i > 0; i -= 1) {
    const messages = locales.get(parts.slice(0, i).join('-'));
    if (messages) found.push(messages);
  }
  found.push(en);
  return found;
}

export function hasMessage(locale: string, key: string): key is MessageKey {
  return chain(locale).some((messages) => Object.hasOwn(messages, key));
}

export function message(locale: string, key: MessageKey, values: Record<string, string | number> = {}): string {
  const template = chain(locale).find((messages) => messages[key] !== undefined)?.[key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (values[name] === undefined ? whole : String(values[name])));
}
