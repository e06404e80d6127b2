import type { ContentCategory } from '@atelier/protocol';

/**
 * The platform's terms for each content category, and phrases that contain one of them
 * but are ordinary product language (a glue gun, a bath bomb). Terms match whole words,
 * however they are spaced or spelled (see fold-text.ts), with a plural `s`/`es`. Short,
 * unambiguous words on purpose: a list that refuses ordinary shop talk costs merchants
 * more than it protects them. A tenant adds its own words with `bannedTerms`.
 */
export interface CategoryLexicon {
  terms: readonly string[];
  allowed?: readonly string[];
}

export const LEXICON: Readonly<Record<ContentCategory, CategoryLexicon>> = {
  nudity: {
    terms: [
      'nude',
      'naked',
      'nudity',
      'topless',
      'bottomless',
      'undressed',
      'unclothed',
      'nsfw',
      'no clothes',
      'without clothes',
      'nipple',
      'genitals',
      'bare breasts',
    ],
  },
  sexual: {
    terms: [
      'porn',
      'porno',
      'pornography',
      'pornographic',
      'sex',
      'sexual',
      'erotic',
      'erotica',
      'xxx',
      'hentai',
      'fetish',
      'orgasm',
      'intercourse',
      'onlyfans',
      'lewd',
    ],
  },
  violence: {
    terms: [
      'kill',
      'killing',
      'murder',
      'murdered',
      'massacre',
      'torture',
      'tortured',
      'stabbing',
      'stabbed',
      'shooting',
      'assault',
      'execution',
      'terrorist',
      'terrorism',
      'beaten up',
    ],
    allowed: ['shooting star', 'photo shooting', 'kill switch'],
  },
  gore: {
    terms: [
      'gore',
      'gory',
      'dismembered',
      'dismemberment',
      'decapitated',
      'decapitation',
      'beheaded',
      'mutilated',
      'mutilation',
      'disembowelled',
      'bloodbath',
      'severed head',
      'corpse',
      'entrails',
    ],
  },
  hate: {
    terms: [
      'nazi',
      'swastika',
      'heil hitler',
      'kkk',
      'ku klux klan',
      'white power',
      'white supremacy',
      'ethnic cleansing',
      'master race',
      'antisemitic',
      'racist',
    ],
  },
  harassment: {
    terms: ['doxx', 'doxxing', 'humiliate', 'humiliating', 'bully', 'bullying', 'make fun of', 'stalker', 'degrading'],
  },
  'self-harm': {
    terms: ['suicide', 'suicidal', 'self harm', 'cutting myself', 'kill myself', 'hang myself', 'proana', 'thinspiration'],
  },
  drugs: {
    terms: [
      'cocaine',
      'heroin',
      'meth',
      'methamphetamine',
      'fentanyl',
      'crack pipe',
      'lsd',
      'mdma',
      'marijuana',
      'cannabis',
      'opium',
    ],
  },
  weapons: {
    terms: [
      'gun',
      'handgun',
      'pistol',
      'rifle',
      'shotgun',
      'firearm',
      'revolver',
      'grenade',
      'bomb',
      'explosive',
      'ammunition',
      'ammo',
      'assault rifle',
      'ak47',
    ],
    allowed: [
      'glue gun',
      'heat gun',
      'nail gun',
      'massage gun',
      'spray gun',
      'paint gun',
      'water gun',
      'gun metal',
      'bath bomb',
      'rifle paper',
    ],
  },
  political: {
    terms: [
      'election',
      'voting',
      'political party',
      'democrat',
      'republican',
      'propaganda',
      'political rally',
      'senator',
      'parliament',
    ],
  },
  'public-figures': {
    terms: ['celebrity', 'famous person', 'movie star', 'pop star', 'president', 'prime minister', 'politician'],
  },
};
