import sharp from 'sharp';
import type { TestServer } from './test-server.js';

/** Raw RGBA pixels, row by row, as tests draw them. */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Buffer;
}

/** POST /v1/uploads of `image` as a PNG, as the tenant; returns the upload's id. */
export async function uploadRgba(server: TestServer, secretKey: string, { width, height, rgba }: RgbaImage): Promise<string> {
  const response = await fetch(`${server.url}/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'image/png' },
    body: await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer(),
  });
  if (response.status !== 201) throw new Error(`uploadRgba: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}
