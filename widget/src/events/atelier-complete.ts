import type { PublicImage } from '@atelier/protocol';

export interface AtelierCompleteDetail {
  jobId: string;
  prompt: string;
  images: PublicImage[];
}

/** `atelier-complete`: bubbles and crosses shadow boundaries, so a host page can listen anywhere. */
export class AtelierCompleteEvent extends Event {
  static readonly eventName = 'atelier-complete';
  readonly detail: AtelierCompleteDetail;

  constructor(detail: AtelierCompleteDetail) {
    super(AtelierCompleteEvent.eventName, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'atelier-complete': AtelierCompleteEvent;
  }
}
