// The theme's script for <atelier-studio> (a module, so deferred and run once however
// many blocks include it). Shopify serves this file from its CDN and keeps the copy of
// each extension deploy, while the widget changes with every server release: so this
// file holds no widget code and no file name of it. It imports the server's own loader
// (`/widget.js`, a few hundred bytes), which always names the studio that server has
// and fetches it only when a studio nears the viewport, is touched, or the page idles.
//
// First it asks the app proxy (`/apps/atelier/session`, on the shop's own origin and
// signed by Shopify) for a shopper session: the shop's daily quota for a guest or a
// logged-in customer follows the shopper. Without the proxy the studio runs anonymous.
// A picture the shopper picks is reported back through the proxy with that session:
// picking it is the shopper's consent to the shop reusing it.
const studios = [...document.querySelectorAll('atelier-studio[server]')];
const server = studios[0]?.getAttribute('server');
const proxy = `${window.Shopify?.routes?.root ?? '/'}apps/atelier`;

async function shopperSession() {
  try {
    const response = await fetch(`${proxy}/session`, { headers: { Accept: 'application/json' } });
    if (!response.ok) return undefined;
    const { token } = await response.json();
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}

if (server) {
  let loader;
  try {
    loader = new URL('widget.js', server.endsWith('/') ? server : `${server}/`).href;
  } catch {
    console.error('<atelier-studio> has no usable server address:', server);
  }
  if (loader) {
    const token = await shopperSession();
    if (token) {
      for (const studio of studios) if (!studio.hasAttribute('session-token')) studio.setAttribute('session-token', token);
      document.addEventListener('atelier-select', (event) => {
        const imageId = event.detail?.image?.id;
        const sessionToken = event.target?.getAttribute?.('session-token');
        if (!imageId || !sessionToken) return;
        fetch(`${proxy}/picks`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ imageId, sessionToken }),
        }).catch(() => {});
      });
    }
    import(loader).catch((error) => console.error('<atelier-studio> could not load', error));
  }
}
