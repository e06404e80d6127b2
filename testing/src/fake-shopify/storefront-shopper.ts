import {
  REALTIME_PATH,
  REALTIME_PROTOCOL_VERSION,
  socketUrl,
  type GenerationParams,
  type RefusalReason,
  type ServerMessage,
} from '@atelier/protocol';
import { serverMessageSchema } from '@atelier/protocol/schemas';
import { vi } from 'vitest';
import { SocketProbe } from '../socket-probe.js';
import type { ShopifySigner } from './shopify-signer.js';

/** How the server answered a shopper's `generate`: the job it accepted, or the socket's `error`. */
export type ShopperAnswer = { id: string } | { code: string; message: string; reason?: RefusalReason };

export interface ShopperGenerateInput {
  /** The app's server (`http://…`). */
  serverUrl: string;
  /** Signs the app proxy request as Shopify does. */
  signer: ShopifySigner;
  shop: string;
  /** The shop's logged-in customer; a guest without one. */
  customerId?: string;
  params: GenerationParams;
  ref?: string;
}

/**
 * A storefront shopper's generation as the theme's widget makes it: a shopper session
 * minted through the signed app proxy, the widget socket opened with it from the shop's
 * origin, `hello`, then `generate`. Answers the accepted job or the refusal; the job goes
 * on after the socket closes.
 */
export async function shopperGenerates(input: ShopperGenerateInput): Promise<ShopperAnswer> {
  const query = input.signer.proxyQuery({
    shop: input.shop,
    ...(input.customerId ? { loggedInCustomerId: input.customerId } : {}),
  });
  const response = await fetch(`${input.serverUrl}/shopify/proxy/session?${query.toString()}`);
  if (response.status !== 200) throw new Error(`the app proxy answered ${response.status}: ${await response.text()}`);
  const session = (await response.json()) as { token: string; publishableKey: string };
  const widget = await SocketProbe.open<ServerMessage>(
    socketUrl(input.serverUrl, REALTIME_PATH, { key: session.publishableKey, session: session.token }),
    { Origin: `https://${input.shop}` },
    serverMessageSchema,
  );
  try {
    widget.send({ type: 'hello', v: REALTIME_PROTOCOL_VERSION });
    await widget.receive('welcome');
    widget.send({ type: 'generate', ref: input.ref ?? 'g', params: input.params });
    return await vi.waitFor(
      () => {
        const [accepted] = widget.received('accepted');
        if (accepted) return { id: accepted.id };
        const [error] = widget.received('error');
        if (error) return { code: error.code, message: error.message, ...(error.reason ? { reason: error.reason } : {}) };
        throw new Error('no answer to generate yet');
      },
      { timeout: 15_000, interval: 10 },
    );
  } finally {
    await widget.close();
  }
}

/** The id of the job a shopper's generation started; throws with the refusal when it was refused. */
export async function shopperJob(input: ShopperGenerateInput): Promise<string> {
  const answer = await shopperGenerates(input);
  if ('id' in answer) return answer.id;
  throw new Error(`generate was refused: ${answer.code}: ${answer.message}`);
}
