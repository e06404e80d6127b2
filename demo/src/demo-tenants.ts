import type { TenantConfigPatch } from '@atelier/protocol';

export interface DemoProduct {
  /** The product page is `/products/<slug>`; its photo `storefront/images/<slug>.svg`. */
  slug: string;
  title: string;
  price: string;
  description: string;
}

/** The storefront's own words (the widget brings its own, in the same locale). */
export interface StorefrontCopy {
  catalogue: string;
  catalogueIntro: string;
  studioPage: string;
  studioPageIntro: string;
  cart: string;
  addToCart: string;
  added: string;
  addedWithPicture: string;
  pictureChosen: string;
  studioHeading: string;
  viewProduct: string;
  footer: string;
}

/**
 * The storefront's look; the widget's comes from the tenant's branding (its configuration).
 * Values go into the page's `<style>` as they are, where HTML escapes do not apply: no
 * quotes or angle brackets (an unquoted font family may contain spaces).
 */
export interface StorefrontLook {
  theme: 'light' | 'dark';
  accent: string;
  ink: string;
  muted: string;
  paper: string;
  panel: string;
  line: string;
  font: string;
}

export interface DemoTenantSpec {
  name: string;
  plan: string;
  /** `<html lang>` and the widget's `locale`. */
  locale: string;
  look: StorefrontLook;
  copy: StorefrontCopy;
  products: DemoProduct[];
  /** Sent as `PUT /v1/config` with the tenant's secret key on every start (a merge patch: running it again changes nothing). */
  config: TenantConfigPatch;
}

/** The demo's merchants. Each gets its own tenant, keys, configuration and storefront origin. */
export const DEMO_TENANTS: DemoTenantSpec[] = [
  {
    name: 'Lumen & Oak',
    plan: 'pro',
    locale: 'en',
    look: {
      theme: 'light',
      accent: '#b5651d',
      ink: '#1d1b19',
      muted: '#6b645c',
      paper: '#faf7f2',
      panel: '#efe8dd',
      line: '#e0d6c8',
      font: 'ui-sans-serif, system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
    },
    copy: {
      catalogue: 'Shop',
      catalogueIntro: 'Homeware made slowly, from oak, linen and stoneware. Open a piece to see it in your own room.',
      studioPage: 'Design studio',
      studioPageIntro: 'No product in mind yet? Describe a room and see what it could look like.',
      cart: 'Cart',
      addToCart: 'Add to cart',
      added: 'Added to cart.',
      addedWithPicture: 'Added, with your picture.',
      pictureChosen: 'Your picture will be attached to this item.',
      studioHeading: 'See it in your space',
      viewProduct: 'View',
      footer: 'Lumen & Oak — a demo storefront of Atelier.',
    },
    products: [
      {
        slug: 'arc-desk-lamp',
        title: 'Arc Desk Lamp',
        price: '€129',
        description: 'Hand-turned oak base, linen shade, warm 2700 K light. Try it in your own room before you buy.',
      },
      {
        slug: 'dune-vase',
        title: 'Dune Stoneware Vase',
        price: '€59',
        description: 'Wheel-thrown stoneware with a sand-coloured matte glaze. Holds dried grasses or a single branch.',
      },
      {
        slug: 'linen-throw',
        title: 'Washed Linen Throw',
        price: '€89',
        description: 'Stone-washed European linen, 130 × 170 cm, with a hand-knotted fringe. Softer with every wash.',
      },
      {
        slug: 'oak-board',
        title: 'Oak Serving Board',
        price: '€45',
        description: 'Solid oak, oiled by hand, with a leather loop. For bread, cheese, or simply leaning on the counter.',
      },
    ],
    config: {
      styles: {
        allowed: [
          'Evening Glow',
          'Scandi Morning',
          'Living Room',
          'Kitchen Counter',
          'Bedside Table',
          'Home Office',
          'Light Oak',
        ],
        default: ['Evening Glow'],
        custom: [
          {
            name: 'Evening Glow',
            prompt:
              '{prompt}, in a calm living room at dusk, warm lamplight, oak and linen textures, soft shadows, interior photograph',
            negativePrompt: 'harsh flash, neon, clutter, blurry, distorted product',
          },
          {
            name: 'Scandi Morning',
            prompt: '{prompt}, bright Scandinavian room, pale wood floor, white walls, morning sun through sheer curtains, airy',
            negativePrompt: 'dark, cluttered, blurry, distorted product',
          },
        ],
      },
      branding: {
        colors: {
          accent: '#b5651d',
          background: '#fffdf9',
          surface: '#f3ece2',
          text: '#1d1b19',
          muted: '#6b645c',
          border: '#e0d6c8',
        },
        fontFamily: 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        radius: 14,
        strings: { en: { launcher: 'Picture it at home' } },
      },
    },
  },
  {
    name: 'Faden & Form',
    plan: 'basic',
    locale: 'de',
    look: {
      theme: 'dark',
      accent: '#e0b04a',
      ink: '#f3efe9',
      muted: '#b3aca3',
      paper: '#141312',
      panel: '#221f1d',
      line: '#3a3633',
      font: 'Georgia, Times New Roman, serif',
    },
    copy: {
      catalogue: 'Kollektion',
      catalogueIntro: 'Mode aus Wolle, Seide und Leder, in kleinen Serien genäht. Öffnen Sie ein Stück und inszenieren Sie es.',
      studioPage: 'Look-Studio',
      studioPageIntro: 'Noch kein Stück gewählt? Beschreiben Sie einen Look und sehen Sie, wie er wirken könnte.',
      cart: 'Warenkorb',
      addToCart: 'In den Warenkorb',
      added: 'In den Warenkorb gelegt.',
      addedWithPicture: 'In den Warenkorb gelegt, mit Ihrem Bild.',
      pictureChosen: 'Ihr Bild wird diesem Artikel beigefügt.',
      studioHeading: 'Inszenieren Sie dieses Stück',
      viewProduct: 'Ansehen',
      footer: 'Faden & Form — ein Demo-Shop von Atelier.',
    },
    products: [
      {
        slug: 'wollmantel-nord',
        title: 'Wollmantel „Nord“',
        price: '289 €',
        description: 'Doppelt gewebte Schurwolle, knielang, mit verdeckter Knopfleiste. Warm, ohne schwer zu sein.',
      },
      {
        slug: 'seidenschal-welle',
        title: 'Seidenschal „Welle“',
        price: '79 €',
        description: 'Reine Maulbeerseide, handrolliert, 90 × 90 cm. Das Wellenmuster ist in Krefeld gedruckt.',
      },
      {
        slug: 'ledertasche-quader',
        title: 'Ledertasche „Quader“',
        price: '189 €',
        description: 'Pflanzlich gegerbtes Rindsleder, von Hand genäht, mit verstellbarem Riemen. Wird mit den Jahren schöner.',
      },
    ],
    config: {
      presets: { allowed: ['speed', 'quality'], default: 'speed' },
      styles: {
        allowed: ['Laufsteg Berlin', 'Kreidewand', 'Studio Dark Moody', 'City Street', 'Flat Lay Minimal', 'Vintage Film'],
        default: ['Laufsteg Berlin'],
        custom: [
          {
            name: 'Laufsteg Berlin',
            prompt: '{prompt}, on a raw concrete runway in a Berlin warehouse, dramatic side light, fashion editorial photograph',
            negativePrompt: 'cartoon, blurry, distorted garment, extra limbs',
          },
          {
            name: 'Kreidewand',
            prompt: '{prompt}, in front of a chalk-white lime-plastered wall, soft north light, quiet minimal fashion still life',
            negativePrompt: 'cluttered, neon, blurry, distorted garment',
          },
        ],
      },
      branding: {
        colors: {
          accent: '#e0b04a',
          background: '#1c1b1a',
          surface: '#262422',
          text: '#f3efe9',
          muted: '#b3aca3',
          border: '#3a3633',
        },
        fontFamily: 'Georgia, "Times New Roman", serif',
        radius: 2,
        strings: {
          de: {
            launcher: 'Look gestalten',
            promptPlaceholderProduct: 'z. B. {product} auf einem Laufsteg im Abendlicht',
          },
        },
      },
    },
  },
];
