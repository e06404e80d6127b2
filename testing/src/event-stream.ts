import { vi } from 'vitest';
import { REALTIME_STREAM_PATH } from '@atelier/protocol';

export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * The widget's HTTP fallback (`GET /v1/realtime/stream`, then POSTs to its connection),
 * read the way EventSource reads it: `event:` and `data:` lines, a blank line ends each.
 */
export interface EventStream {
  status: number;
  headers: Headers;
  events: StreamEvent[];
  ended: boolean;
  next(event: string, where?: (data: never) => boolean): Promise<unknown>;
  post(body: unknown, options?: { origin?: string; raw?: string }): Promise<Response>;
  abort(): void;
}

export async function openEventStream(serverUrl: string, key: string, origin: string | undefined): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(new URL(`${REALTIME_STREAM_PATH}?key=${key}`, serverUrl), {
    headers: origin ? { Origin: origin, Accept: 'text/event-stream' } : { Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const events: StreamEvent[] = [];
  const taken = new Set<StreamEvent>();
  const stream: EventStream = {
    status: response.status,
    headers: response.headers,
    events,
    ended: false,
    async next(event, where = () => true) {
      return vi.waitFor(
        () => {
          const found = events.find((e) => !taken.has(e) && e.event === event && where(e.data as never));
          if (!found) throw new Error(`no "${event}" event yet (${stream.ended ? 'ended' : 'open'})`);
          taken.add(found);
          return found.data;
        },
        { timeout: 15_000, interval: 10 },
      );
    },
    async post(body, options = {}) {
      const ready = (await vi.waitFor(() => {
        const first = events.find((e) => e.event === 'ready');
        if (!first) throw new Error('not ready');
        return first.data;
      })) as { connection: string };
      return fetch(new URL(`${REALTIME_STREAM_PATH}/${ready.connection}`, serverUrl), {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', ...((options.origin ?? origin) ? { Origin: options.origin ?? origin! } : {}) },
        body: options.raw ?? JSON.stringify(body),
      });
    },
    abort: () => controller.abort(),
  };
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n').filter((line) => !line.startsWith(':'));
          if (lines.length === 0) continue;
          const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message';
          const data = lines.find((line) => line.startsWith('data: '))?.slice(6);
          events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
        }
      }
    } catch {
      // Aborted by the test.
    }
    stream.ended = true;
  })();
  return stream;
}
