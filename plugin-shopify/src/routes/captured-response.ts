import type { OutgoingHttpHeaders } from 'node:http';
import type { Response } from 'express';

/**
 * Stands in for the Node response the library's node adapter writes to, so that its
 * answer (status, headers, body) can be looked at and acted on before it is sent:
 * the OAuth `state` it put in the redirect is stored before the merchant can follow it.
 */
export class CapturedResponse {
  statusCode = 200;
  statusMessage = '';
  body = '';
  private readonly headers: OutgoingHttpHeaders = {};

  getHeaders(): OutgoingHttpHeaders {
    return { ...this.headers };
  }

  getHeader(name: string): OutgoingHttpHeaders[string] {
    return this.headers[name.toLowerCase()];
  }

  setHeader(name: string, value: OutgoingHttpHeaders[string]): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  write(chunk: string): boolean {
    this.body += chunk;
    return true;
  }

  end(): void {}

  /** Sends what was captured on the real response. */
  replay(res: Response): void {
    for (const [name, value] of Object.entries(this.headers)) if (value !== undefined) res.setHeader(name, value);
    res.status(this.statusCode).send(this.body);
  }
}
