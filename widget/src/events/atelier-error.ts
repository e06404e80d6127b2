export interface AtelierErrorDetail {
  /** Null when no job was created (refused connection, rejected request). */
  jobId: string | null;
  /** A CONTRACT error code (`invalid_request`, `rate_limited`, …) or `unauthorized`. */
  code: string;
  /** The text the shopper was shown. */
  message: string;
}

/** `atelier-error`: bubbles and crosses shadow boundaries, so a host page can listen anywhere. */
export class AtelierErrorEvent extends Event {
  static readonly eventName = 'atelier-error';
  readonly detail: AtelierErrorDetail;

  constructor(detail: AtelierErrorDetail) {
    super(AtelierErrorEvent.eventName, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'atelier-error': AtelierErrorEvent;
  }
}
