/**
 * The Shopify admin around an embedded app, as the fake Shopify serves it: the page that
 * frames the app's URL, and the stand-in for App Bridge the app's page loads.
 */

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Stands in for Shopify's App Bridge (`cdn.shopify.com/shopifycloud/app-bridge.js`) in
 * the app's frame: the parts the app uses — `shopify.idToken()`, `shopify.toast.show()`
 * and `open(url, '_top')` — as messages to the admin page around it (this fake's), which
 * answers with a session token it signed.
 */
export const APP_BRIDGE_STAND_IN = `(() => {
  const admin = new URL(document.currentScript.src).origin;
  const waiting = new Map();
  let next = 0;
  const post = (message) => window.parent.postMessage({ fakeAppBridge: true, ...message }, admin);
  window.addEventListener('message', (event) => {
    if (event.origin !== admin || event.source !== window.parent) return;
    const wait = waiting.get(event.data && event.data.id);
    if (!wait) return;
    waiting.delete(event.data.id);
    if (event.data.token) wait.resolve(event.data.token);
    else wait.reject(new Error('no session token'));
  });
  window.shopify = {
    config: {
      apiKey: document.querySelector('meta[name="shopify-api-key"]')?.content,
      shop: new URLSearchParams(location.search).get('shop'),
    },
    idToken: () =>
      new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        post({ type: 'idToken', id });
      }),
    toast: { show: (message) => post({ type: 'toast', message: String(message) }) },
  };
  const nativeOpen = window.open.bind(window);
  window.open = (url, target, features) => {
    if (target === '_top' || target === '_parent') {
      post({ type: 'open', url: String(url) });
      return null;
    }
    return nativeOpen(url, target, features);
  };
})();
`;

/** The admin around the app's frame: answers App Bridge's messages and lists toasts and navigations. */
const FAKE_ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shopify admin (fake)</title></head>
<body>
<h1>Apps › Atelier</h1>
<ol id="toasts" aria-label="Toasts"></ol>
<ol id="opened" aria-label="Top-level navigations"></ol>
<iframe id="app" title="Atelier" src="%APP_URL%" width="1100" height="2400"></iframe>
<script>
  const frame = document.getElementById('app');
  const appOrigin = new URL(frame.src).origin;
  const list = (id, text) => {
    const item = document.createElement('li');
    item.textContent = text;
    document.getElementById(id).append(item);
  };
  window.addEventListener('message', async (event) => {
    if (event.source !== frame.contentWindow || event.origin !== appOrigin || !event.data || !event.data.fakeAppBridge) return;
    const { type, id } = event.data;
    if (type === 'idToken') {
      const response = await fetch('%TOKEN_URL%', { method: 'POST' });
      const { token } = await response.json();
      frame.contentWindow.postMessage({ id, token }, appOrigin);
    } else if (type === 'toast') list('toasts', event.data.message);
    else if (type === 'open') list('opened', event.data.url);
  });
</script>
</body>
</html>
`;

/** The admin page for one shop: frames `appUrl` and fetches session tokens from `tokenUrl` (same origin). */
export function fakeAdminPage(appUrl: string, tokenUrl: string): string {
  return FAKE_ADMIN_PAGE.replace('%APP_URL%', escapeAttribute(appUrl)).replace('%TOKEN_URL%', escapeAttribute(tokenUrl));
}
