/**
 * The embed page's script (`/embed.js`): the page the server renders for iframe mode
 * holds one `<atelier-studio>` and loads the studio beside this file. This side of the
 * bridge posts the studio's events and the page's height to the host page, and applies
 * the attributes the host page forwards. It talks only to the window that framed it, and
 * only at the origin the server checked against the tenant's allowed origins (the page's
 * `data-parent`, also its `frame-ancestors`).
 */
import { EMBED_EVENTS, EMBED_MESSAGE_SOURCE, type EmbedToHostMessage, isHostToEmbedMessage } from '@atelier/protocol';

const parentOrigin = document.documentElement.dataset['parent'];
const studio = document.querySelector('atelier-studio');

function post(message: EmbedToHostMessage): void {
  if (parentOrigin) window.parent.postMessage(message, parentOrigin);
}

// Opened on its own (not framed), the page has nobody to talk to and shows nothing.
if (studio && parentOrigin && window.parent !== window) {
  for (const name of EMBED_EVENTS) {
    studio.addEventListener(name, (event) => {
      // Details are plain data (ids, URLs, numbers), so they survive structured cloning.
      post({ source: EMBED_MESSAGE_SOURCE, type: 'event', name, detail: (event as CustomEvent).detail });
    });
  }
  addEventListener('message', (event) => {
    if (event.source !== window.parent || event.origin !== parentOrigin || !isHostToEmbedMessage(event.data)) return;
    for (const [name, value] of Object.entries(event.data.attributes)) {
      if (value === null) studio.removeAttribute(name);
      else studio.setAttribute(name, value);
    }
  });
  let height = -1;
  new ResizeObserver(() => {
    const next = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (next !== height) post({ source: EMBED_MESSAGE_SOURCE, type: 'resize', height: (height = next) });
  }).observe(document.documentElement);
  post({ source: EMBED_MESSAGE_SOURCE, type: 'ready' });
} else if (studio) {
  studio.hidden = true;
}
