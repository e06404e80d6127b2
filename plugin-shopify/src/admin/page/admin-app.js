/* global shopify, document, window, open, HTMLElement */
// The embedded admin page's one script. Every call to the app's API carries a fresh
// session token from App Bridge (`shopify.idToken()`); the server checks it and derives
// the shop from it, never from anything the page says. No framework, no inline script:
// the markup is in the page, this fills it in with the DOM API (text, never HTML).

const COLOURS = ['accent', 'background', 'text'];
const STRINGS = ['generate', 'promptLabel', 'launcher'];
const PLANS = ['free', 'basic', 'pro', 'enterprise'];
const SVG = 'http://www.w3.org/2000/svg';

const $ = (selector, root = document) => root.querySelector(selector);

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `The request failed (${status}).`);
    this.status = status;
  }
}

/** The app's API with the session token; one retry when the server asks for a fresh token. */
async function api(path, { method = 'GET', body } = {}, retried = false) {
  const token = await shopify.idToken();
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 401 && !retried && response.headers.get('X-Shopify-Retry-Invalid-Session-Request')) {
    return api(path, { method, body }, true);
  }
  if (response.status === 204) return undefined;
  const data = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function say(message) {
  $('#status').textContent = message;
}

function fail(error) {
  const banner = $('#error');
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
}

/** Runs a form's save: its status line says what happened, a refusal names the field. */
function onSubmit(form, save) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = $('.form-status', form);
    const button = $('button[type="submit"]', form);
    button.disabled = true;
    status.textContent = 'Saving…';
    status.classList.remove('form-status--error');
    try {
      await save(new FormData(form));
      status.textContent = 'Saved.';
      shopify.toast.show('Saved');
    } catch (error) {
      status.textContent = error.message;
      status.classList.add('form-status--error');
    } finally {
      button.disabled = false;
    }
  });
}

// ---- the shop and the theme editor link

function showShop(shop) {
  $('#shop-name').textContent = shop.name ? ` for ${shop.name}` : '';
  $('#open-theme-editor').addEventListener('click', () => open(shop.themeEditorUrl, '_top'));
  const quotas = $('#quota-form');
  quotas.elements.guestPerDay.value = String(shop.quotas.guestPerDay);
  quotas.elements.customerPerDay.value = String(shop.quotas.customerPerDay);
}

// ---- plan, credits, usage, billing

async function showAccount() {
  const account = await api('/shopify/api/account');
  $('#plan-name').textContent = account.plan;
  $('#credits-available').textContent = account.balance.available.toLocaleString();
  $('#credits-monthly').textContent = account.monthlyCredits.toLocaleString();
  drawUsage(account.usage.days);
  await showBilling(account.plan);
}

function drawUsage(days) {
  const chart = $('#usage-chart');
  chart.replaceChildren();
  const most = Math.max(1, ...days.map((day) => day.credits));
  const width = 300 / days.length;
  days.forEach((day, n) => {
    const height = (day.credits / most) * 76;
    const bar = document.createElementNS(SVG, 'rect');
    bar.setAttribute('x', String(n * width + 1));
    bar.setAttribute('y', String(80 - height));
    bar.setAttribute('width', String(Math.max(1, width - 2)));
    bar.setAttribute('height', String(height));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${day.date}: ${day.credits} credits, ${day.images} ${day.images === 1 ? 'picture' : 'pictures'}`;
    bar.append(title);
    chart.append(bar);
  });
  const total = days.reduce((sum, day) => sum + day.credits, 0);
  $('#usage-caption').textContent = `Credits used per day, last ${days.length} days: ${total} in all`;
}

async function showBilling(currentPlan) {
  const message = $('#billing-message');
  let billing;
  try {
    billing = await api('/shopify/api/billing');
  } catch (error) {
    if (error.status !== 404) throw error;
    message.textContent = 'Changing plans through Shopify is not available on this server yet.';
    return;
  }
  $('#cap-banner').hidden = !billing.capReached;
  $('#billing-used').textContent = `${billing.usedAmount ?? 0} of ${billing.cappedAmount ?? 0}`;
  // Shopify's billing period (its currentPeriodEnd), when the cap and the plan's credits start again.
  $('#billing-period-end').textContent = billing.periodEnd
    ? new Date(billing.periodEnd).toLocaleDateString(undefined, { dateStyle: 'long', timeZone: 'UTC' })
    : '–';
  message.textContent = `Subscription: ${billing.status ?? 'none'}.`;
  const buttons = $('#plan-buttons');
  buttons.replaceChildren(
    ...PLANS.filter((plan) => plan !== (billing.plan ?? currentPlan)).map((plan) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = `Switch to ${plan}`;
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const { confirmationUrl } = await api('/shopify/api/billing/subscribe', { method: 'POST', body: { plan } });
          // Shopify's confirmation page belongs in the admin's top window, not in this iframe.
          open(confirmationUrl, '_top');
        } catch (error) {
          fail(error);
          button.disabled = false;
        }
      });
      return button;
    }),
  );
}

// ---- look (with the live preview), styles and presets

/**
 * The preview is the real widget connected as the shop's storefront is: this page comes
 * from the Atelier server itself, an origin the server lets every publishable key use, so
 * the preview's welcome brings the tenant's saved look and texts. A new element after each
 * save connects again, so what was just saved shows.
 */
function connectPreview(publishableKey) {
  const fresh = document.createElement('atelier-studio');
  fresh.id = 'preview';
  fresh.setAttribute('mode', 'inline');
  if (publishableKey) fresh.setAttribute('publishable-key', publishableKey);
  $('#preview').replaceWith(fresh);
}

function showLook(settings, shop) {
  connectPreview(shop.publishableKey);
  const form = $('#look-form');
  const { branding } = settings;
  for (const token of COLOURS) form.elements[token].value = branding.colors[token] ?? defaultColour(token);
  form.elements.fontFamily.value = branding.fontFamily ?? '';
  form.elements.radius.value = branding.radius === null ? '' : String(branding.radius);
  for (const key of STRINGS) form.elements[key].value = branding.strings.en?.[key] ?? '';
  const preview = () => {
    const studio = $('#preview');
    // CSSOM, not a style attribute: the page's policy allows no inline styles.
    for (const token of COLOURS) studio.style.setProperty(`--atelier-${token}`, form.elements[token].value);
    setOrRemove(studio, '--atelier-font', form.elements.fontFamily.value.trim());
    setOrRemove(studio, '--atelier-radius', form.elements.radius.value === '' ? '' : `${form.elements.radius.value}px`);
  };
  form.addEventListener('input', preview);
  preview();
  onSubmit(form, async (data) => {
    const radius = String(data.get('radius')).trim();
    await api('/shopify/api/settings', {
      method: 'PUT',
      body: {
        branding: {
          colors: Object.fromEntries(COLOURS.map((token) => [token, String(data.get(token))])),
          fontFamily: String(data.get('fontFamily')).trim() || null,
          radius: radius === '' ? null : Number(radius),
          // A cleared text (null in the merge patch) goes back to the widget's own.
          strings: { en: Object.fromEntries(STRINGS.map((key) => [key, String(data.get(key)).trim() || null])) },
        },
      },
    });
    connectPreview(shop.publishableKey);
    preview();
  });
}

function setOrRemove(element, property, value) {
  if (value) element.style.setProperty(property, value);
  else element.style.removeProperty(property);
}

function defaultColour(token) {
  return { accent: '#1d4ed8', background: '#ffffff', text: '#111827' }[token];
}

function showOffer(settings) {
  const form = $('#offer-form');
  const { styles, presets, catalogue } = settings;
  $('#style-options').replaceChildren(
    ...catalogue.styles.map((name) => checkbox('style', name, name, styles.allowed.includes(name))),
  );
  $('#preset-options').replaceChildren(
    ...catalogue.presets.map((name) => checkbox('preset', name, name, presets.allowed.includes(name))),
  );
  const select = form.elements.defaultPreset;
  select.replaceChildren(
    ...catalogue.presets.map((name) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      option.selected = name === presets.default;
      return option;
    }),
  );
  onSubmit(form, async (data) => {
    const allowed = data.getAll('preset').map(String);
    await api('/shopify/api/settings', {
      method: 'PUT',
      body: {
        styles: { allowed: data.getAll('style').map(String), default: [] },
        presets: { allowed, default: String(data.get('defaultPreset')) },
      },
    });
  });
}

function checkbox(name, value, text, checked) {
  const label = document.createElement('label');
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.name = name;
  input.value = value;
  input.checked = checked;
  label.append(input, ` ${text}`);
  return label;
}

// ---- quotas

function bindQuotas() {
  onSubmit($('#quota-form'), async (data) => {
    await api('/shopify/api/quotas', {
      method: 'PUT',
      body: { guestPerDay: Number(data.get('guestPerDay')), customerPerDay: Number(data.get('customerPerDay')) },
    });
  });
}

// ---- shoppers' pictures

let products;

async function showResults() {
  const { data } = await api('/shopify/api/results');
  $('#results-empty').hidden = data.length > 0;
  $('#results').replaceChildren(...data.map(resultItem));
}

function resultItem(result) {
  const item = document.createElement('li');
  item.dataset.imageId = result.imageId;
  const image = document.createElement('img');
  image.src = result.url;
  image.alt = result.prompt || 'A shopper picture';
  image.width = 160;
  image.height = Math.round((160 * result.height) / result.width);
  const prompt = document.createElement('p');
  prompt.textContent = result.prompt;
  const state = document.createElement('p');
  state.className = 'result-state';
  state.textContent = [
    result.status === 'approved' ? 'Approved' : 'Not reviewed',
    result.consent ? 'picked by the shopper' : 'not picked by the shopper',
    result.media.length > 0 ? `on ${result.media.length} product(s)` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(
    button('Hide', `Hide the picture "${result.prompt}"`, () => moderate(result, 'hide')),
    button('Approve', `Approve the picture "${result.prompt}"`, () => moderate(result, 'approve'), result.status === 'approved'),
  );
  item.append(image, prompt, state, actions);
  if (result.status === 'approved' && result.consent) item.append(mediaForm(result));
  return item;
}

function button(text, label, action, disabled = false) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = text;
  element.setAttribute('aria-label', label);
  element.disabled = disabled;
  element.addEventListener('click', async () => {
    element.disabled = true;
    try {
      await action();
    } catch (error) {
      fail(error);
      element.disabled = false;
    }
  });
  return element;
}

async function moderate(result, action) {
  await api(`/shopify/api/results/${encodeURIComponent(result.imageId)}/${action}`, { method: 'POST' });
  shopify.toast.show(action === 'hide' ? 'Picture hidden' : 'Picture approved');
  await showResults();
}

function mediaForm(result) {
  const form = document.createElement('form');
  form.className = 'media-form';
  const label = document.createElement('label');
  const select = document.createElement('select');
  select.name = 'productId';
  select.required = true;
  label.append('Product ', select);
  const submit = document.createElement('button');
  submit.type = 'submit';
  submit.textContent = 'Add to the product';
  const status = document.createElement('p');
  status.className = 'form-status';
  status.setAttribute('role', 'status');
  form.append(label, submit, status);
  loadProducts().then(
    (list) =>
      select.replaceChildren(
        ...list.map((product) => {
          const option = document.createElement('option');
          option.value = product.id;
          option.textContent = product.title;
          return option;
        }),
      ),
    (error) => (status.textContent = error.message),
  );
  onSubmit(form, async (data) => {
    await api(`/shopify/api/results/${encodeURIComponent(result.imageId)}/media`, {
      method: 'POST',
      body: { productId: String(data.get('productId')) },
    });
    await showResults();
  });
  return form;
}

function loadProducts() {
  products ??= api('/shopify/api/products').then(({ data }) => data);
  return products;
}

// ---- start

async function start() {
  const shop = await api('/shopify/api/shop');
  const settings = await api('/shopify/api/settings');
  showShop(shop);
  showLook(settings, shop);
  showOffer(settings);
  bindQuotas();
  for (const section of document.querySelectorAll('main > section')) section.hidden = false;
  await Promise.all([showAccount(), showResults()]);
  say(`Connected to ${shop.shop}.`);
  $('#app').setAttribute('aria-busy', 'false');
}

if (typeof window.shopify === 'undefined' || !(document.body instanceof HTMLElement)) {
  fail('App Bridge did not load: open the app from your Shopify admin.');
} else {
  start().catch((error) => {
    say('Something went wrong.');
    fail(error);
  });
}
