import type { PublicImage } from '@atelier/protocol';

export interface AtelierSelectDetail {
  /** The picked image; `url` is absolute, ready to attach to a cart line. */
  image: PublicImage;
}

/** `atelier-select`: bubbles and crosses shadow boundaries, so a host page can listen anywhere. */
export class AtelierSelectEvent extends Event {
  static readonly eventName = 'atelier-select';
  readonly detail: AtelierSelectDetail;

  constructor(detail: AtelierSelectDetail) {
    super(AtelierSelectEvent.eventName, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'atelier-select': AtelierSelectEvent;
  }
}
