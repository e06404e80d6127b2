/**
 * Atelier's built-in styles for product visuals, written for this project. Each wraps the
 * shopper's words at `{prompt}`; tenants add their own in their configuration
 * (`styles.custom`), and a custom style of the same name takes the built-in one's place.
 */

/** A style: its template wraps the prompt; its negative prompt joins the request's. */
export interface PromptStyle {
  name: string;
  /** `{prompt}` marks where the shopper's words go. */
  prompt: string;
  negativePrompt: string;
}

/** What most product shots should avoid; most built-in styles start from it. */
const CLEAN = 'blurry, low resolution, distorted product, warped label, extra objects, watermark, text artifacts';

const style = (name: string, prompt: string, negativePrompt = CLEAN): PromptStyle => ({ name, prompt, negativePrompt });

export const STYLE_LIBRARY: readonly PromptStyle[] = [
  // Studio
  style(
    'Studio White',
    '{prompt}, isolated on a seamless pure white backdrop, soft even key light, gentle contact shadow, catalogue product photograph',
  ),
  style(
    'Studio Gradient',
    '{prompt}, on a smooth grey-to-charcoal gradient sweep, rim light tracing the silhouette, polished commercial photograph',
  ),
  style(
    'Studio Color Pop',
    '{prompt}, against a saturated solid colour backdrop, hard flash light, crisp graphic shadow, bold advertising photograph',
  ),
  style(
    'Studio Pastel',
    '{prompt}, on a pale pastel paper sweep, diffused window-like softbox light, airy and calm, editorial product photo',
  ),
  style(
    'Studio Dark Moody',
    '{prompt}, low-key lighting on a deep black set, single strip light, dramatic highlights, luxury campaign photograph',
    `${CLEAN}, overexposed, flat lighting`,
  ),
  style(
    'Studio Floating',
    '{prompt}, suspended in mid-air above a soft shadow, clean light backdrop, playful levitation product shot',
  ),
  style(
    'Studio Pedestal',
    '{prompt}, displayed on a matte plaster pedestal, geometric plinths around it, soft directional light, gallery presentation',
  ),
  style(
    'Studio Reflection',
    '{prompt}, standing on a glossy black acrylic surface with a mirror reflection, controlled highlights, premium look',
  ),
  // Surfaces
  style(
    'White Marble',
    '{prompt}, resting on polished white Carrara marble with fine grey veins, soft daylight, refined minimal composition',
  ),
  style('Black Marble', '{prompt}, on dark Nero marquina marble with white veining, warm accent light, elegant high-end mood'),
  style('Raw Concrete', '{prompt}, on a textured raw concrete slab, cool diffused light, urban minimalist still life'),
  style('Light Oak', '{prompt}, on a pale oak tabletop with visible grain, morning sunlight, Scandinavian interior feel'),
  style('Walnut Desk', '{prompt}, on a rich walnut desk, warm lamp glow, a notebook edge out of focus, refined workspace scene'),
  style('Linen Cloth', '{prompt}, laid on softly creased natural linen, muted neutral tones, gentle side light, artisanal mood'),
  style('Terrazzo', '{prompt}, on a speckled terrazzo surface, bright cheerful daylight, contemporary design styling'),
  style('Slate Stone', '{prompt}, on a rough dark slate board, moody natural light, rustic premium styling'),
  // Home
  style(
    'Kitchen Counter',
    '{prompt}, on a bright kitchen counter, blurred cabinets and plants behind, natural window light, everyday lifestyle photo',
  ),
  style(
    'Breakfast Table',
    '{prompt}, on a sunlit breakfast table with coffee cups and a folded napkin, soft focus background, homely morning scene',
  ),
  style('Bathroom Shelf', '{prompt}, on a clean bathroom shelf with white tiles, soft diffused light, fresh spa-like atmosphere'),
  style(
    'Living Room',
    '{prompt}, placed in a cosy living room beside a sofa and throw blanket, warm afternoon light, lived-in interior photograph',
  ),
  style(
    'Bedside Table',
    '{prompt}, on a bedside table next to a small lamp and a book, calm evening light, intimate home setting',
  ),
  style(
    'Home Office',
    '{prompt}, on a tidy home office desk with a laptop and a plant out of focus, neutral daylight, productive mood',
  ),
  // Outdoor lifestyle
  style(
    'Garden Morning',
    '{prompt}, outdoors in a green garden, dew and soft morning sun, shallow depth of field, fresh lifestyle photograph',
  ),
  style('Beach Sand', '{prompt}, on warm sand by the sea, bright summer sunlight, turquoise water blurred behind, holiday mood'),
  style(
    'Mountain Trail',
    '{prompt}, on a rock beside a mountain trail, crisp alpine light, distant peaks out of focus, adventure lifestyle shot',
  ),
  style(
    'City Street',
    '{prompt}, on a city street cafe table, passers-by blurred, golden hour light, urban lifestyle photograph',
  ),
  style(
    'Picnic Blanket',
    '{prompt}, on a checked picnic blanket in a meadow, dappled sunlight through trees, relaxed weekend feeling',
  ),
  style('Poolside', '{prompt}, on the edge of a sunny swimming pool, sparkling water caustics, vivid summer colours'),
  style('Forest Floor', '{prompt}, on moss and fallen leaves on a forest floor, soft filtered light, natural earthy palette'),
  // Flat lay
  style(
    'Flat Lay Minimal',
    'top-down flat lay of {prompt}, arranged with generous negative space on a plain light surface, even shadowless light',
  ),
  style(
    'Flat Lay Curated',
    'top-down flat lay of {prompt}, surrounded by neatly arranged complementary accessories, balanced grid composition, editorial styling',
  ),
  style(
    'Flat Lay Botanical',
    'top-down flat lay of {prompt}, framed by fresh leaves and small flowers, soft natural light, organic feel',
  ),
  style(
    'Knolling',
    '{prompt} with its parts laid out at right angles in an orderly knolling arrangement, top-down view, uniform light',
  ),
  // Seasonal
  style(
    'Winter Holiday',
    '{prompt}, festive winter scene with pine branches, warm fairy lights bokeh and a dusting of snow, cosy gift-season photograph',
  ),
  style('Spring Blossom', '{prompt}, surrounded by pale pink cherry blossoms, fresh spring daylight, light and optimistic mood'),
  style('Summer Citrus', '{prompt}, with sliced lemons and oranges, bright hard sunlight, vivid refreshing summer palette'),
  style(
    'Autumn Harvest',
    '{prompt}, among autumn leaves, small pumpkins and warm knit textures, low golden sunlight, seasonal photograph',
  ),
  style(
    'Valentine',
    '{prompt}, with soft red and pink accents, rose petals and gentle heart-shaped bokeh, romantic gift photograph',
  ),
  style(
    'Halloween Night',
    '{prompt}, in a playful Halloween setting with carved pumpkins and candlelight, dark orange and purple tones',
  ),
  style(
    'Lunar New Year',
    '{prompt}, with red paper lanterns and gold accents, warm celebratory light, festive new year photograph',
  ),
  // Presentation
  style(
    'Hero Banner',
    '{prompt}, wide hero composition with the product to one side and clean space for copy, polished advertising light',
  ),
  style('Macro Detail', 'extreme close-up macro of {prompt}, texture and material detail in sharp focus, shallow depth of field'),
  style(
    'In Hand',
    '{prompt}, held naturally in a hand, soft daylight, authentic user-generated look, candid lifestyle photo',
    `${CLEAN}, deformed hands, extra fingers`,
  ),
  style('Packaging Unboxing', '{prompt}, emerging from an open gift box with tissue paper, soft overhead light, unboxing moment'),
  style('Water Splash', '{prompt}, with a dynamic splash of clear water frozen mid-air, high-speed flash, fresh and energetic'),
  style('Smoke and Shadow', '{prompt}, wisps of soft smoke drifting behind, dramatic side light, mysterious premium mood'),
  style(
    'Eco Natural',
    '{prompt}, on recycled kraft paper with twine and dried grasses, soft natural light, sustainable brand styling',
  ),
  style('Tech Neon', '{prompt}, on a dark reflective surface with cyan and magenta neon glow, futuristic tech product shot'),
  style(
    'Vintage Film',
    '{prompt}, warm faded film colours, soft grain, nostalgic retro product photograph',
    `${CLEAN}, digital harshness`,
  ),
  style('Luxury Gold', '{prompt}, on black velvet with subtle gold accents, soft spotlight, opulent jewellery-catalogue mood'),
];
