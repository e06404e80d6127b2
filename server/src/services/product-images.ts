import { AppError, invalidRequest } from '../errors/app-error.js';
import { createLogger } from '../logging/logger.js';
import type { Models } from '../models/index.js';
import type { Upload } from '../models/upload.model.js';
import type { OutgoingHttp } from '../net/outgoing-http.js';
import { requireTenantId } from '../tenancy/tenant-context.js';
import { UPLOAD_LIMITS, UploadService } from './upload-service.js';

const log = createLogger('product-images');

/** A fetched photo is reused for requests naming the same URL this long (shops version their image URLs). */
const REUSE_MS = 60 * 60_000;

/**
 * Product photos named by URL (`inputImageUrl`): a studio on a product page has the
 * photo's address, not its bytes. The server fetches it, but only from the tenant's own
 * sites: a host among its allowed origins (same scheme and port) or listed in its
 * configuration's `productImageHosts` (a shop's CDN). The fetch goes through the
 * SSRF-guarded client (no private addresses, no redirects, timeouts) and reads at most an
 * upload's size; the bytes then pass every check an upload does and become an upload of
 * the tenant, which the job names. Anything else is `invalid_request` naming the field.
 */
export class ProductImages {
  constructor(
    private readonly deps: {
      models: Models;
      outgoing: Pick<OutgoingHttp, 'get'>;
      uploads: Pick<UploadService, 'create'>;
      now?: () => Date;
    },
  ) {}

  async fetch(raw: string, { origins, hosts }: { origins: readonly string[]; hosts: readonly string[] }): Promise<Upload> {
    const url = new URL(raw);
    const allowed = origins.includes(url.origin) || (url.protocol === 'https:' && hosts.includes(url.hostname));
    if (!allowed) {
      throw invalidRequest(
        `inputImageUrl must be on one of this shop's own sites (its allowed origins, or a host in productImageHosts); ${url.host} is not`,
        { field: 'inputImageUrl' },
      );
    }
    const now = this.deps.now?.() ?? new Date();
    const recent = await this.deps.models.Upload.findOne({ sourceUrl: url.href }).sort({ createdAt: -1 }).lean();
    if (recent && now.getTime() - recent.createdAt.getTime() < REUSE_MS) return recent;

    const answer = await this.deps.outgoing.get(url, {
      maxBytes: UPLOAD_LIMITS.maxBytes,
      accept: 'image/png, image/jpeg, image/webp',
    });
    if (!answer.ok || answer.statusCode !== 200) {
      log.info(
        { tenantId: requireTenantId(), host: url.host, reason: answer.ok ? `status ${answer.statusCode}` : answer.reason },
        'product photo not fetched',
      );
      throw invalidRequest(
        `The product photo at inputImageUrl could not be fetched (${answer.ok ? `HTTP ${answer.statusCode}` : answer.reason}).`,
        { field: 'inputImageUrl' },
      );
    }
    const type = answer.contentType.split(';')[0]!.trim().toLowerCase();
    try {
      return await this.deps.uploads.create(UploadService.formatOf(type), answer.bytes, { sourceUrl: url.href });
    } catch (error) {
      // The upload's own checks (type, decodable, size) speak of a request body; say where the image came from.
      if (!(error instanceof AppError)) throw error;
      throw invalidRequest(`The product photo at inputImageUrl was refused: ${error.message}`, { field: 'inputImageUrl' });
    }
  }
}
