// When a shopper picks a picture (`atelier-select`) in a studio that starts from a
// product, puts that product in the cart with the picture on its line, through the
// storefront's own cart endpoint. The variant is the one the product form holds at that
// moment (themes change it as the shopper picks options), else the one Liquid rendered.
// `_atelier_image_id` starts with an underscore, so checkout shows only the picture's
// address while the order keeps the id the merchant can look the image up by.
document.addEventListener('atelier-select', async (event) => {
  const studio = event.target;
  if (!(studio instanceof Element) || studio.getAttribute('data-atelier-cart') !== 'add') return;
  const image = event.detail?.image;
  const form = document.querySelector('form[action$="/cart/add"] [name="id"]');
  const variant = Number(form?.value || studio.getAttribute('product-variant'));
  if (!image?.url || !variant) return;
  const label = studio.getAttribute('data-atelier-cart-label') || 'Picture';
  const line = { id: variant, quantity: 1, properties: { [label]: image.url, _atelier_image_id: image.id } };
  const root = window.Shopify?.routes?.root ?? '/';
  try {
    const response = await fetch(`${root}cart/add.js`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ items: [line] }),
    });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    // Themes refresh their cart drawer or count on their own events; this one says what changed.
    studio.dispatchEvent(new CustomEvent('atelier-cart-add', { bubbles: true, composed: true, detail: { line } }));
  } catch (error) {
    console.error('<atelier-studio> could not add the picture to the cart', error);
  }
});
