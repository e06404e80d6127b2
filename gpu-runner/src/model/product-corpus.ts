/**
 * Text the tiny model's BPE merges are learned from: the kind of prompts shoppers and
 * merchants write for product visuals. Only word frequencies matter, so the sentences are
 * free-form; repetition is deliberate (it is what makes common words single tokens).
 */
export const PRODUCT_PHOTO_CORPUS = `
Product photo of a leather handbag on a white background, studio lighting, soft shadows.
Product photography of a ceramic coffee mug on a wooden table, natural light, shallow depth of field.
A pair of running shoes on a concrete floor, dramatic lighting, high contrast, commercial photo.
Minimalist product shot of a glass perfume bottle, pastel background, reflections, studio light.
Lifestyle photo of a cotton t-shirt folded on a bed, morning light, cozy bedroom, linen sheets.
Close-up of a silver necklace with a pendant on black velvet, macro photography, sharp focus.
Skincare serum bottle with water droplets, marble surface, clean background, beauty product photo.
Wireless headphones floating on a gradient background, product render, soft studio lighting.
Handmade soap bars stacked on a bamboo tray with dried flowers, natural light, rustic style.
A wooden chair in a bright living room, scandinavian interior, plants, white walls, daylight.
Gold watch on a leather strap, luxury product photo, dark background, rim light, reflections.
Sneakers on a pastel pink background, top view, flat lay, colorful, playful product photo.
Denim jacket on a hanger against a brick wall, street style, urban background, golden hour.
Scented candle in an amber glass jar, warm light, cozy home, blurred background, bokeh.
Kitchen knife set on a slate board with fresh vegetables, food photography, overhead shot.
Organic tea packaging on a linen cloth with tea leaves, natural light, minimal composition.
Sunglasses on the sand at the beach, summer vibes, bright sunlight, ocean in the background.
Backpack on a mountain trail, outdoor gear, adventure, morning mist, lifestyle product photo.
Ceramic vase with dried pampas grass, beige background, soft shadows, minimalist interior.
Lipstick on a mirror surface, red color, beauty photography, glossy reflections, close-up.
Smartphone case in many colors arranged in a grid, flat lay, studio photo, white background.
Wool sweater worn by a model in a park, autumn leaves, warm tones, fashion photography.
Stainless steel water bottle on a yoga mat, fitness lifestyle, bright natural light, clean.
Silk scarf draped over a chair, elegant, soft light, luxury fashion, product detail shot.
Baby shoes on a knitted blanket, soft pastel colors, gentle light, cute product photo.
A bouquet of flowers in a glass vase on a kitchen counter, fresh, spring, natural light.
Watch, shoes, bag, bottle, jar, cup, mug, lamp, chair, table, sofa, pillow, blanket, rug.
White background, black background, grey background, blue background, green background.
Red dress, blue jeans, black boots, white sneakers, brown leather belt, green jacket.
Studio lighting, soft light, hard light, rim light, backlight, natural light, window light.
High resolution, ultra detailed, sharp focus, professional product photography, 4k, 8k.
On a marble table, on a wooden shelf, on a concrete floor, on a linen cloth, on the sand.
Photo of a product, photo of the product, a product photo, the product on a table.
Shoppers love clean photos: the product centered, the background simple, the light soft.
It's a best seller; we're adding new colors and they'll ship next week, don't miss it.
Price 19.99, 2 for 30, 50% off, free shipping, size 42, 100 ml, 250 g, 3 pack.
`;
