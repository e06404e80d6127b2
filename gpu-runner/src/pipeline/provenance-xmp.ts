import type { Provenance } from '@atelier/protocol';

/** IPTC's term for media made by a trained model from a prompt (NewsCodes, digitalsourcetype). */
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
export const GENERATOR = 'Atelier (Stable Diffusion XL)';

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char]!);

/**
 * The XMP packet an image carries: IPTC's digital source type (the standard's way of
 * saying "AI-generated"), the generator (`xmp:CreatorTool`), the job (`xmpMM:DocumentID`),
 * the tenant as the credit line (`photoshop:Credit`), and the prompt as the description
 * only when the tenant opted in. Nothing else: no other tenant's data, no shopper's.
 */
export function provenanceXmp({ jobId, tenantName, prompt }: Provenance): string {
  const description =
    prompt === undefined
      ? ''
      : `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${escapeXml(prompt)}</rdf:li></rdf:Alt></dc:description>`;
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '<rdf:Description rdf:about=""',
    ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"',
    ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"',
    ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"',
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ` Iptc4xmpExt:DigitalSourceType="${TRAINED_ALGORITHMIC_MEDIA}"`,
    ` xmp:CreatorTool="${escapeXml(GENERATOR)}"`,
    ` xmpMM:DocumentID="atelier:${escapeXml(jobId)}"`,
    ` photoshop:Credit="${escapeXml(tenantName)}">`,
    description,
    '</rdf:Description>',
    '</rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
  ].join('');
}
