export interface AtelierStartDetail {
  /** The server's job id. */
  jobId: string;
  /** The request's client-side ref (see the realtime protocol). */
  ref: string;
  prompt: string;
  /** Credits reserved for the job; released again if it fails. */
  credits: number;
}

/** `atelier-start`: bubbles and crosses shadow boundaries, so a host page can listen anywhere. */
export class AtelierStartEvent extends Event {
  static readonly eventName = 'atelier-start';
  readonly detail: AtelierStartDetail;

  constructor(detail: AtelierStartDetail) {
    super(AtelierStartEvent.eventName, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'atelier-start': AtelierStartEvent;
  }
}
