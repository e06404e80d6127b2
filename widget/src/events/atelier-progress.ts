import type { JobStage } from '@atelier/protocol';

export interface AtelierProgressDetail {
  jobId: string;
  /** UNet steps done so far, out of `steps`. */
  step: number;
  steps: number;
  stage: JobStage;
}

/** `atelier-progress`: bubbles and crosses shadow boundaries, so a host page can listen anywhere. */
export class AtelierProgressEvent extends Event {
  static readonly eventName = 'atelier-progress';
  readonly detail: AtelierProgressDetail;

  constructor(detail: AtelierProgressDetail) {
    super(AtelierProgressEvent.eventName, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'atelier-progress': AtelierProgressEvent;
  }
}
