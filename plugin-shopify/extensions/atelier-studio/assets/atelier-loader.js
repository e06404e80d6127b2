// The theme's script for <atelier-studio> (a module, so deferred and run once however
// many blocks include it). Shopify serves this file from its CDN and keeps the copy of
// each extension deploy, while the widget changes with every server release: so this
// file holds no widget code and no file name of it. It imports the server's own loader
// (`/widget.js`, a few hundred bytes), which always names the studio that server has
// and fetches it only when a studio nears the viewport, is touched, or the page idles.
const studio = document.querySelector('atelier-studio[server]');
const server = studio?.getAttribute('server');
if (server) {
  let loader;
  try {
    loader = new URL('widget.js', server.endsWith('/') ? server : `${server}/`).href;
  } catch {
    console.error('<atelier-studio> has no usable server address:', server);
  }
  if (loader) import(loader).catch((error) => console.error('<atelier-studio> could not load', error));
}
