import { OUTPUT_FORMATS } from '@atelier/protocol';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeImage } from './image-output.js';
import { GENERATOR, TRAINED_ALGORITHMIC_MEDIA } from './provenance-xmp.js';

const WIDTH = 48;
const HEIGHT = 32;
/** A gradient with some texture, so lossy encoders have work to do. */
const rgb = Buffer.from(
  Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => (Math.floor(i / 3) * 7 + (i % 3) * 60 + ((i * 13) % 17)) % 256),
);
const provenance = { jobId: 'gen_abcdefghijklmnopqrst', tenantName: 'Acme & Sons <Paris>' };

/** The XMP packet in `bytes`, as any metadata reader sees it. */
const xmpOf = async (bytes: Buffer) => (await sharp(bytes).metadata()).xmp?.toString('utf8');

describe('encodeImage', () => {
  it.each(OUTPUT_FORMATS)('writes %s with the provenance an XMP reader finds', async (format) => {
    const bytes = await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: format, provenance });
    const meta = await sharp(bytes).metadata();
    expect({ format: meta.format === 'heif' ? 'avif' : meta.format, width: meta.width, height: meta.height }).toEqual({
      format,
      width: WIDTH,
      height: HEIGHT,
    });
    const xmp = await xmpOf(bytes);
    expect(xmp).toContain(`Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`);
    expect(xmp).toContain(`xmp:CreatorTool="${GENERATOR}"`);
    expect(xmp).toContain('xmpMM:DocumentID="atelier:gen_abcdefghijklmnopqrst"');
    expect(xmp).toContain('photoshop:Credit="Acme &amp; Sons &lt;Paris&gt;"');
    expect(xmp).not.toContain('dc:description');
  });

  it('embeds the prompt only when the job carries it (the tenant opted in)', async () => {
    const prompt = 'a "walnut" lamp & shade';
    const bytes = await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: 'png', provenance: { ...provenance, prompt } });
    expect(await xmpOf(bytes)).toContain('<rdf:li xml:lang="x-default">a &quot;walnut&quot; lamp &amp; shade</rdf:li>');
  });

  it('writes no metadata without provenance, and the same bytes for the same pixels', async () => {
    const first = await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: 'webp' });
    expect(await xmpOf(first)).toBeUndefined();
    expect((await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: 'webp' })).equals(first)).toBe(true);
  });

  it('follows the quality it is given for lossy formats', async () => {
    const low = await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: 'jpeg', outputQuality: 20 });
    const high = await encodeImage(rgb, WIDTH, HEIGHT, { outputFormat: 'jpeg', outputQuality: 95 });
    expect(low.length).toBeLessThan(high.length);
  });
});
