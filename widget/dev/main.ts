/** Dev page wiring: query string → attributes, then every atelier-* event logged. */
const ATTRIBUTES: Record<string, string> = {
  server: 'server',
  key: 'publishable-key',
  'publishable-key': 'publishable-key',
  'session-token': 'session-token',
  mode: 'mode',
  theme: 'theme',
  locale: 'locale',
  'product-image': 'product-image',
  'product-title': 'product-title',
};

const studio = document.querySelector('atelier-studio')!;
const query = new URLSearchParams(location.search);
for (const [param, attribute] of Object.entries(ATTRIBUTES)) {
  const value = query.get(param);
  if (value !== null) studio.setAttribute(attribute, value);
}

const log = document.querySelector('#log')!;
for (const type of ['atelier-start', 'atelier-progress', 'atelier-complete', 'atelier-error', 'atelier-select'] as const) {
  document.addEventListener(type, (event) => {
    const item = document.createElement('li');
    item.textContent = `${type} ${JSON.stringify(event.detail)}`;
    log.prepend(item);
  });
}

// Attributes first, then the element: it connects once, to the right server.
await import('../src/index.js');
