import {
  type GenerationParams,
  PROMPT_MAX_LENGTH,
  type PublicImage,
  type ServerMessage,
  type WidgetConfig,
} from '@atelier/protocol';
import { LitElement, type PropertyValues, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { AtelierCompleteEvent } from '../events/atelier-complete.js';
import { AtelierErrorEvent } from '../events/atelier-error.js';
import { AtelierProgressEvent } from '../events/atelier-progress.js';
import { AtelierSelectEvent } from '../events/atelier-select.js';
import { AtelierStartEvent } from '../events/atelier-start.js';
import type { MessageKey, MessageValues } from '../i18n/messages.js';
import { type Translator, translatorFor } from '../i18n/translator.js';
import type { ConnectionState } from '../realtime/realtime-client.js';
import { originOf } from '../realtime/server-url.js';
import { styles } from './atelier-studio.styles.js';
import { resultStyles } from './studio-results.styles.js';
import { IDLE_JOB, type JobView, canRetry, concerns, failJob, isBusy, reduceJob, startJob } from './job-state.js';
import { errorText, milestoneText, statusText } from './status-text.js';
import { EmbedFrame } from './embed-frame.js';
import { StudioConnection } from './studio-connection.js';
import { UrlRefresh } from './url-refresh.js';
import { applyTenantTheme } from './tenant-theme.js';
import { holdRoom } from './hold-room.js';
import { renderHeader } from './studio-header.js';
import { type Choices, applyChoice, choiceParams, initialChoices, renderOptions } from './studio-options.js';
import { type PromptCheck, checkPrompt } from './validate-prompt.js';
import { type ProductMode, productParams, renderProductMode } from './product-mode.js';
import { RECENT_LIMIT, type RecentEntry, loadRecent, recentKey, saveRecent } from './recent-results.js';
import { type GalleryItem, type ResultAction, download, fileName, renderGallery, resultParams } from './studio-results.js';

/** Read once, while the module evaluates: the server that served this script. */
const SCRIPT_ORIGIN = originOf(import.meta.url);

export type StudioMode = 'inline' | 'launcher' | 'iframe';
export type StudioTheme = 'light' | 'dark' | 'auto';

/**
 * @summary A prompt box, live progress and results for on-brand AI product
 * pictures, talking to an Atelier server over its realtime socket.
 *
 * @tagname atelier-studio
 *
 * @fires {AtelierStartEvent} atelier-start - The server accepted a request; `detail` has the job id and reserved credits.
 * @fires {AtelierProgressEvent} atelier-progress - A sampling step finished; `detail` has `step` and `steps`.
 * @fires {AtelierCompleteEvent} atelier-complete - Results are in; `detail.images` has absolute URLs and sizes.
 * @fires {AtelierErrorEvent} atelier-error - A job failed, a request was rejected, or the key was refused.
 * @fires {AtelierSelectEvent} atelier-select - The shopper picked a result; `detail.image` can go on a cart line.
 *
 * @csspart base - The card wrapping everything.
 * @csspart logo - The tenant's logo (its branding's `logoUrl`), at the end of the first row.
 * @csspart prompt - The prompt text field.
 * @csspart generate - The Generate button.
 * @csspart progress - The progress bar (`role="progressbar"`).
 * @csspart status - The live status line.
 * @csspart error - The error message (`role="alert"`), hidden when there is none.
 * @csspart result - Each result image.
 * @csspart launcher - The floating button that opens the studio (`mode="launcher"`).
 * @csspart dialog - The dialog the launcher opens.
 * @csspart close - The dialog's close button.
 * @csspart frame - The iframe (`mode="iframe"`).
 * @csspart styles - The style chips (shown when the tenant offers styles).
 * @csspart options - "More options": shape, performance and number of pictures.
 * @csspart product-mode - With `product-image`: "New scene" or "Variations" of the product photo.
 * @csspart gallery - The shopper's recent pictures (they survive a reload).
 * @csspart recent - Each picture in the gallery.
 * @csspart action - Each action on a picture (vary, upscale, download, select).
 * @csspart retry - "Try again" after an error.
 *
 * @cssproperty --atelier-accent - Button and progress colour.
 * @cssproperty --atelier-accent-contrast - Text on the accent colour.
 * @cssproperty --atelier-background - Card background.
 * @cssproperty --atelier-surface - Canvas and progress track background.
 * @cssproperty --atelier-text - Main text colour.
 * @cssproperty --atelier-muted - Status text colour.
 * @cssproperty --atelier-border - Borders.
 * @cssproperty --atelier-danger - Error text and invalid field border.
 * @cssproperty --atelier-radius - Corner radius of the card; inner corners follow it.
 * @cssproperty --atelier-font - Font family; the page's font when unset.
 * @cssproperty --atelier-density - Spacing factor: 1 (comfortable, the default), 0.75 for compact.
 * @cssproperty --atelier-canvas-aspect-ratio - Shape of the picture area (default 1).
 * @cssproperty --atelier-launcher-offset - Distance of the launcher from the viewport's corner (default 1.25rem).
 */
export class AtelierStudio extends LitElement {
  static override styles = [styles, resultStyles];

  private readonly connection = new StudioConnection(this, {
    endpoint: () => ({
      server: this.server || SCRIPT_ORIGIN,
      // In iframe mode the embedded studio holds the socket, never this element.
      publishableKey: this.mode === 'iframe' ? '' : this.publishableKey,
      shopper: this.sessionToken,
    }),
    onState: (state) => this.handleState(state),
    onMessage: (message) => this.handleMessage(message),
  });

  private readonly embed = new EmbedFrame(this, () => this.renderRoot.querySelector('iframe'));
  private readonly urls = new UrlRefresh(this, () => this.watchRemembered(true));

  @state() private job: JobView = IDLE_JOB;
  @state() private validation: PromptCheck | null = null;
  @state() private config: WidgetConfig | null = null;
  @state() private selectedId: string | null = null;
  @state() private choices: Choices | null = null;
  /** The shopper's recent generations, newest first (this page's and, restored, earlier pages'). */
  @state() private gallery: readonly GalleryItem[] = [];
  /**
   * The gallery's row, held from the shopper's first press on: their first picture lands
   * in a row that opened with the press (a shift the shopper caused, which layout-shift
   * scoring leaves out), not seconds later under the page's content.
   */
  @state() private galleryHeld = false;
  @state() private productMode: ProductMode = 'txt2img';

  /** The last request, sent again by "Try again". */
  private lastParams: GenerationParams | null = null;
  /** Where the gallery is remembered (recent-results.ts), and what is remembered there. */
  private recentSlot = '';
  private recent: RecentEntry[] = [];
  /** Remembered generations asked for again on this page (once each), with their watch's ref. */
  private readonly restoring = new Map<string, string>();

  /** Publishable key (`pk_live_…` / `pk_test_…`), bound to the tenant's allowed origins. */
  @property({ attribute: 'publishable-key' }) publishableKey = '';
  /**
   * A shopper session (`POST /v1/sessions` on the tenant's backend) naming this shopper;
   * without it the shopper is anonymous. A new value reconnects as that shopper.
   */
  @property({ attribute: 'session-token' }) sessionToken = '';
  /**
   * Base URL of the Atelier server; defaults to the origin this script was loaded from.
   * @type {string}
   */
  @property() server = SCRIPT_ORIGIN;
  /**
   * `inline` renders where placed; `launcher` is a floating button opening the studio in a
   * dialog; `iframe` renders the server's embed page in an iframe, events and attributes bridged.
   */
  @property({ reflect: true }) mode: StudioMode = 'inline';
  /** URL of the product photo, shown in the picture area until there is a preview or a result. */
  @property({ attribute: 'product-image' }) productImage = '';
  /** The product's name: the photo's alt text and part of the prompt's placeholder. */
  @property({ attribute: 'product-title' }) productTitle = '';
  /** BCP 47 tag choosing the messages; unknown locales fall back to English. */
  @property({ reflect: true }) locale = 'en';
  /** `light`, `dark`, or `auto` (follows the shopper's colour-scheme setting). */
  @property({ reflect: true }) theme: StudioTheme = 'light';

  /**
   * The room the page reserved for this element before it was defined (its
   * `:not(:defined)` rule), held by the element itself until its first render; null
   * when it was created after definition. Measured in the constructor, the one moment
   * the upgrade still sees the page's reservation.
   */
  private readonly reserved: number | null = this.isConnected ? this.getBoundingClientRect().height : null;

  /** Where the socket stands, for host pages that want to show it elsewhere. */
  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  /** The result the shopper picked, if any (on the canvas or in the gallery). */
  get selectedImage(): PublicImage | null {
    // The gallery's first: its links are the ones kept fresh (url-refresh.ts).
    const all = [...this.gallery.flatMap((item) => item.images ?? []), ...this.job.images];
    return all.find((image) => image.id === this.selectedId) ?? null;
  }

  /**
   * An element upgraded when the studio's script arrives renders in the task after its
   * definition: evaluating the script and the first render are two tasks rather than
   * one long one (25–50 and 55–170 ms under 4× CPU throttling on a busy machine, from
   * 120–220 ms together). Until then it holds the page's reserved room, so nothing moves between
   * the two even if a frame is drawn.
   */
  protected override async scheduleUpdate(): Promise<void> {
    if (!this.hasUpdated && this.reserved !== null) {
      holdRoom(this.renderRoot as ShadowRoot, this.reserved);
      await new Promise((resolve) => setTimeout(resolve));
    }
    await super.scheduleUpdate();
  }

  protected override firstUpdated(): void {
    holdRoom(this.renderRoot as ShadowRoot, null);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const endpoint = changed.has('server') || changed.has('publishableKey') || changed.has('sessionToken') || changed.has('mode');
    if (endpoint && this.hasUpdated) {
      // A different server or key is a different studio: nothing carries over.
      this.job = IDLE_JOB;
      this.config = null;
      this.choices = null;
      this.connection.reset();
    }
    this.remember();
  }

  /** Loads the remembered list when the tenant or shopper changed (or on first render): its tiles hold their place. */
  private remember(): void {
    const slot = recentKey(this.publishableKey, this.sessionToken);
    if (slot === this.recentSlot || this.mode === 'iframe') return;
    this.recentSlot = slot;
    this.recent = this.publishableKey ? loadRecent(slot) : [];
    this.gallery = this.recent.map(({ id, prompt }) => ({ id, prompt, images: null }));
    this.restoring.clear();
  }

  private rememberJob(id: string, prompt: string, images: readonly PublicImage[]): void {
    const others = (list: readonly { id: string }[]) => list.filter((entry) => entry.id !== id);
    this.gallery = [{ id, prompt, images }, ...others(this.gallery)].slice(0, RECENT_LIMIT) as GalleryItem[];
    const session = this.connection.ensureClient().session ?? '';
    this.recent = [{ id, prompt, session }, ...(others(this.recent) as RecentEntry[])].slice(0, RECENT_LIMIT);
    saveRecent(this.recentSlot, this.recent);
  }

  /**
   * Events about remembered generations being asked for again: a finished one fills its
   * tile with fresh image URLs; one the server no longer has (or no longer lets this
   * shopper see) is forgotten. Answers whether the message was one of these.
   */
  private restore(incoming: ServerMessage): boolean {
    const id =
      incoming.type === 'error'
        ? [...this.restoring].find(([, ref]) => ref === incoming.ref)?.[0]
        : (incoming as { id?: string }).id;
    if (!id || !this.restoring.has(id) || incoming.type === 'accepted') return false;
    if (incoming.type === 'completed') {
      const images = incoming.images.map((image) => this.absolute(image));
      this.gallery = this.gallery.map((item) => (item.id === id ? { ...item, images } : item));
    } else if (incoming.type === 'failed' || (incoming.type === 'error' && incoming.code === 'not_found')) {
      this.gallery = this.gallery.filter((item) => item.id !== id);
      this.recent = this.recent.filter((entry) => entry.id !== id);
      saveRecent(this.recentSlot, this.recent);
    } else if (incoming.type === 'error') {
      // Refused for now (too many requests, a busy moment): remembered still, asked for on the next page.
      this.gallery = this.gallery.filter((item) => item.id !== id || item.images);
    }
    if (incoming.type !== 'queued' && incoming.type !== 'progress') this.restoring.delete(id);
    return true;
  }

  /** Asks for remembered generations again: those still without pictures, or all (their links are about to expire). */
  private watchRemembered(all: boolean): void {
    const client = this.connection.ensureClient();
    for (const { id, session } of this.recent) {
      const item = this.gallery.find((candidate) => candidate.id === id);
      if (!item || this.restoring.has(id) || (item.images && !all)) continue;
      this.restoring.set(id, client.watch(id, session));
    }
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('gallery')) this.urls.schedule(this.gallery.flatMap((item) => item.images ?? []));
    if (changed.has('config')) applyTenantTheme(this.renderRoot as ShadowRoot, this.config?.branding);
    if (this.mode === 'iframe') {
      const forwarded = ['locale', 'theme', 'productImage', 'productTitle', 'sessionToken'];
      if (forwarded.some((name) => changed.has(name))) this.embed.sync();
      return;
    }
    // Through the CSSOM rather than a style attribute (or the styleMap directive, which
    // weighs 0.4 kB gzip): a Content-Security-Policy without 'unsafe-inline' allows it.
    const { step, steps } = this.job.progress ?? { step: 0, steps: 0 };
    this.renderRoot.querySelector<HTMLElement>('.studio__progress-bar')!.style.transform = `scaleX(${steps ? step / steps : 0})`;
  }

  /** The shopper's language with this studio's own tenant's words (never another studio's). */
  private get i18n(): Translator {
    return translatorFor(this.locale || 'en', this.config?.branding?.strings);
  }

  private t(key: MessageKey, values?: MessageValues): string {
    return this.i18n.t(key, values);
  }

  private fireError(code: string): void {
    const shown = errorText(this.i18n, this.errorInputs()) ?? this.t('errorGeneric');
    this.dispatchEvent(new AtelierErrorEvent({ jobId: this.job.id, code, message: shown }));
  }

  private errorInputs() {
    const { publishableKey, validation, job } = this;
    return { hasKey: Boolean(publishableKey), validation, connection: this.connection.state, job };
  }

  private absolute(image: PublicImage): PublicImage {
    try {
      return { ...image, url: new URL(image.url, this.server || SCRIPT_ORIGIN).href };
    } catch {
      return image;
    }
  }

  private handleState(connection: ConnectionState): void {
    if (connection.status === 'refused' || connection.status === 'invalid') {
      if (isBusy(this.job)) this.job = failJob(this.job, connection.status, '');
      this.fireError(connection.status === 'refused' ? 'unauthorized' : 'invalid_server');
    }
  }

  private handleMessage(incoming: ServerMessage): void {
    if (incoming.type === 'welcome') {
      // Requests and jobs in flight are picked up again by the client (see RealtimeClient).
      this.config = incoming.config;
      this.choices ??= initialChoices(incoming.config);
      this.watchRemembered(false);
      return;
    }
    if (this.restore(incoming) || !concerns(this.job, incoming)) return;
    // Image URLs may be server-relative; the host page needs them absolute.
    const msg =
      incoming.type === 'completed' ? { ...incoming, images: incoming.images.map((image) => this.absolute(image)) } : incoming;
    this.job = reduceJob(this.job, msg);
    const jobId = this.job.id ?? '';
    switch (msg.type) {
      case 'accepted':
        this.dispatchEvent(new AtelierStartEvent({ jobId, ref: msg.ref, prompt: this.job.prompt, credits: msg.cost.credits }));
        break;
      case 'progress':
        this.dispatchEvent(new AtelierProgressEvent({ jobId, step: msg.step, steps: msg.steps, stage: msg.stage }));
        break;
      case 'completed':
        this.rememberJob(jobId, this.job.prompt, msg.images);
        this.dispatchEvent(new AtelierCompleteEvent({ jobId, prompt: this.job.prompt, images: msg.images }));
        break;
      case 'failed':
      case 'error':
        this.fireError(msg.code);
        break;
    }
  }

  private handleSubmit(event: SubmitEvent): void {
    event.preventDefault();
    if (isBusy(this.job) || this.blocked()) return;
    const field = this.renderRoot.querySelector('textarea')!;
    const check = checkPrompt(field.value, this.config?.maxPromptLength ?? PROMPT_MAX_LENGTH);
    if (!check.ok) {
      this.validation = check;
      field.focus();
      return;
    }
    this.validation = null;
    const choices = choiceParams(this.config, this.choices);
    const image = this.productImage && new URL(this.productImage, document.baseURI).href;
    this.run(image ? productParams(check.prompt, this.productMode, image, choices) : { prompt: check.prompt, ...choices });
  }

  /** Sends a request (Generate, an action on a result, Try again) as the job on screen. */
  private run(params: GenerationParams): void {
    if (!this.publishableKey || isBusy(this.job) || this.blocked()) return;
    this.connection.start();
    this.lastParams = params;
    this.job = startJob(this.connection.ensureClient().generate(params), params.prompt);
    this.selectedId = null;
    this.galleryHeld = true;
  }

  /** Sends the failed request again, under a new ref; focus moves to Generate as the button goes away. */
  private handleRetry(): void {
    if (this.lastParams) this.run(this.lastParams);
    this.renderRoot.querySelector<HTMLElement>('.studio__generate')?.focus();
  }

  private handleProductMode(event: Event): void {
    this.productMode = (event.target as HTMLInputElement).value as ProductMode;
  }

  /** One listener for every picture's actions (studio-results.ts). */
  private handleResultAction(event: Event): void {
    const target = (event.target as HTMLElement).closest<HTMLElement>('[data-image]');
    const item = this.gallery.find((candidate) => candidate.id === target?.dataset['item']);
    const image = item?.images?.find((candidate) => candidate.id === target?.dataset['image']);
    if (!item || !image) return;
    const action = target!.dataset['action'] as ResultAction | undefined;
    if (!action) {
      event.preventDefault();
      // An expired link cannot be fetched; opened, it at least says so in the shopper's tab.
      void download(image.url, fileName(item.prompt, image)).then((saved) => saved || window.open(image.url, '_blank'));
    } else if (action === 'select') {
      this.selectedId = image.id;
      this.dispatchEvent(new AtelierSelectEvent({ image }));
    } else {
      this.run(resultParams(item.prompt, image, action, Number(target!.dataset['factor'])));
    }
  }

  /** Generate stays focusable while it cannot be used (`aria-disabled`), so focus never drops to the page. */
  private blocked(): boolean {
    const { status } = this.connection.state;
    return !this.publishableKey || status === 'refused' || status === 'invalid';
  }

  private handleChoice(event: Event): void {
    if (this.choices) this.choices = applyChoice(this.choices, event.target as HTMLInputElement);
  }

  private handleInput(): void {
    if (this.validation) this.validation = null;
  }

  private handleKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      (event.target as HTMLTextAreaElement).form?.requestSubmit();
    }
  }

  private handlePick(event: Event): void {
    const index = Number((event.currentTarget as HTMLElement).dataset['index']);
    if (!this.job.images[index]) return;
    this.selectedId = this.job.images[index].id;
    this.dispatchEvent(new AtelierSelectEvent({ image: this.selectedImage! }));
  }

  private resultAlt(n: number, total: number): string {
    const { prompt } = this.job;
    return total > 1 ? this.t('resultAltOf', { prompt, n: n + 1, total }) : this.t('resultAlt', { prompt });
  }

  private renderCanvas() {
    const { images, preview } = this.job;
    if (images.length > 0) {
      return html`<div class="studio__results ${images.length > 1 ? 'studio__results--many' : ''}">
        ${images.map(
          (image, n) =>
            html`<button type="button" class="studio__pick" data-index=${n}
              aria-pressed=${image.id === this.selectedId ? 'true' : 'false'} @click=${this.handlePick}>
              <img part="result" src=${image.url} width=${image.width} height=${image.height} decoding="async"
                alt=${this.resultAlt(n, images.length)} />
            </button>`,
        )}
      </div>`;
    }
    if (preview) return html`<img src=${preview} alt=${this.t('previewAlt')} />`;
    if (this.productImage) {
      return html`<img src=${this.productImage} alt=${this.productTitle || this.t('productPhoto')} decoding="async" />`;
    }
    return html`<p class="studio__empty">${this.t('canvasEmpty')}</p>`;
  }

  /** Opens the studio's dialog (launcher mode); inline, the studio is always open. */
  show(): void {
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog || dialog.open) return;
    dialog.showModal();
    // Straight to the prompt: the shopper opened the studio to type.
    this.renderRoot.querySelector('textarea')?.focus();
  }

  /** Closes the dialog (launcher mode); focus goes back to the launcher button. */
  hide(): void {
    this.renderRoot.querySelector('dialog')?.close();
  }

  private handleDialogClose(): void {
    this.renderRoot.querySelector<HTMLElement>('.studio__launcher')?.focus();
  }

  override render() {
    if (this.mode === 'iframe' && this.publishableKey) {
      // The iframe's height follows its page (EmbedFrame); until then the reserved height holds.
      return html`<iframe part="frame" class="studio__frame" title=${this.t('launcher')}
        src=${this.embed.src(this.server || SCRIPT_ORIGIN, this.publishableKey)}></iframe>`;
    }
    if (this.mode !== 'launcher') return this.renderStudio();
    // A modal <dialog>: the page behind is inert (focus stays inside), Esc closes it.
    return html`
      <button part="launcher" class="studio__launcher" type="button" aria-haspopup="dialog" @click=${this.show}>
        ${this.t('launcher')}
      </button>
      <dialog part="dialog" class="studio__dialog" aria-label=${this.t('launcher')} @close=${this.handleDialogClose}>
        <button part="close" class="studio__close" type="button" aria-label=${this.t('close')} @click=${this.hide}>×</button>
        ${this.renderStudio()}
      </dialog>
    `;
  }

  private renderStudio() {
    const { i18n } = this;
    const busy = isBusy(this.job);
    const { state: connection, now } = this.connection;
    const blocked = this.blocked();
    const error = errorText(i18n, this.errorInputs());
    const { step, steps } = this.job.progress ?? { step: 0, steps: 0 };
    const waiting = busy && this.job.phase !== 'running';
    // A refused description is the field's fault: marked, it points the shopper at what to change.
    const invalid =
      (this.validation !== null && !this.validation.ok) ||
      (this.job.phase === 'failed' && this.job.error?.code === 'content_policy');
    const placeholder = this.productTitle
      ? this.t('promptPlaceholderProduct', { product: this.productTitle })
      : this.t('promptPlaceholder');
    const status = statusText(i18n, connection, this.job, now);
    const picked = this.job.images.findIndex((image) => image.id === this.selectedId);
    return html`
      <div part="base" class="studio ${busy ? 'studio--busy' : ''}" lang=${i18n.locale}>
        <form class="studio__form" novalidate @submit=${this.handleSubmit}>
          ${renderHeader(this.config, this.server || SCRIPT_ORIGIN, this.t('promptLabel'))}
          <textarea id="prompt" part="prompt" class="studio__prompt" rows="3"
            placeholder=${placeholder} aria-invalid=${invalid ? 'true' : 'false'}
            aria-describedby=${invalid ? 'error' : nothing} @input=${this.handleInput} @keydown=${this.handleKeyDown}></textarea>
          ${this.productImage ? renderProductMode(this.productMode, (key) => this.t(key), this.handleProductMode) : nothing}
          <div class="studio__options" @change=${this.handleChoice}>${renderOptions(this.config, this.choices, (key, values) => this.t(key, values))}</div>
          <button part="generate" class="studio__generate" type="submit" aria-disabled=${busy || blocked ? 'true' : 'false'}>
            ${this.t('generate')}
          </button>
        </form>
        <div part="progress" class="studio__progress ${waiting ? 'studio__progress--waiting' : ''}" role="progressbar"
          aria-label=${this.t('progressLabel')} aria-valuemin="0" aria-valuemax=${steps || 1} aria-valuenow=${step}>
          <div class="studio__progress-bar"></div>
        </div>
        <div class="studio__messages">
          <p part="status" class="studio__status">${status}</p>
          <p class="studio__announce" aria-live="polite">${milestoneText(i18n, this.job, picked)}</p>
          <p id="error" part="error" class="studio__error" role="alert" ?hidden=${!error}>${error ?? ''}</p>
          ${
            canRetry(this.job) && this.lastParams
              ? html`<button part="retry" class="studio__retry" type="button" @click=${this.handleRetry}>${this.t('retry')}</button>`
              : nothing
          }
        </div>
        <div class="studio__canvas">${this.renderCanvas()}</div>
        <div class="studio__gallery-host" @click=${this.handleResultAction}>
          ${renderGallery(this.gallery, busy, this.selectedId, (key, values) => this.t(key, values), this.galleryHeld, this.config?.maxPixels)}
        </div>
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'atelier-studio': AtelierStudio;
  }
}
