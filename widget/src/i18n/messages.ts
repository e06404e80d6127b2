import type { ShopperMessageKey } from '@atelier/protocol';

/**
 * A message whose words depend on a count (`{n}`): one form per CLDR plural category
 * the language uses, chosen with `Intl.PluralRules`; `other` is always there.
 */
export type Plural = { other: string } & Partial<Record<Exclude<Intl.LDMLPluralRule, 'other'>, string>>;

/**
 * Every string a shopper can read, keyed so that locales can be added without
 * touching the component. `{name}` marks a value filled in by the translator; numbers
 * are formatted for the locale.
 */
export const en = {
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
  // Result actions, recent pictures and the product-photo choice (keep together).
  recentLabel: 'Your recent pictures',
  resultActions: 'Picture {n}: {prompt}',
  varySubtle: 'Vary (subtle)',
  varyStrong: 'Vary (strong)',
  upscale: 'Upscale {factor}×',
  download: 'Download',
  select: 'Use this picture',
  retry: 'Try again',
  productModeLegend: 'Start from the product photo',
  productModeText: 'Just my words',
  productModeScene: 'New scene',
  productModeVariations: 'Variations',

  connecting: 'Connecting to the studio…',
  reconnecting: 'Reconnecting to the studio…',
  /** `{wait}`: a duration such as "4 seconds" (`Intl.NumberFormat`, unit style). */
  unreachable: "Can't reach the studio — retrying in {wait}",
  sending: 'Sending…',
  accepted: 'Request received…',
  queued: 'In queue — position {position}',
  /** `{eta}`: a duration such as "45 seconds" or "3 minutes". */
  queuedEta: 'In queue — position {position} (about {eta})',
  waitingForGpu: 'Waiting for a GPU to come online — your request is saved and will start automatically.',
  stageLoading: 'Warming up…',
  stageEncoding: 'Reading your description…',
  stageSampling: 'Generating… step {step} of {steps}',
  stageDecoding: 'Developing the picture…',
  stageUploading: 'Almost there…',
  done: { one: 'Done — your picture is ready.', other: 'Done — {n} pictures are ready; pick the one you like.' },
  announceQueued: 'Your request is in the queue.',
  announceStarted: 'Generating your picture…',
  announceHalfway: 'Halfway there…',
  announceSelected: 'Picture {n} selected.',

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
  errorShopPaused: 'This shop has paused picture-making for now.',
  errorDailyQuota: 'You have made all your pictures for today here. Come back tomorrow for more.',
  errorRateLimited: 'Too many requests right now. Please try again in a moment.',
  errorUnavailable: 'The studio is busy for a moment. Please try again shortly.',
  errorOutdated: 'This studio was updated. Please reload the page.',
  errorCanceled: 'The picture was cancelled.',
};

// Every message a server code can lead to has English words here.
en satisfies Record<ShopperMessageKey, string>;

export type MessageKey = keyof typeof en;
/** A complete locale: every key, plural where English is plural. */
export type Messages = { [K in MessageKey]: (typeof en)[K] extends string ? string : Plural };
/** Values filled into `{name}` placeholders; `n` also picks a plural message's form. */
export type MessageValues = Record<string, string | number>;
