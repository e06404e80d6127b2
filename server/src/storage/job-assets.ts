import type { RunnerAsset, RunnerAssetKind } from '@atelier/protocol';
import type { UrlSigner } from './signed-urls.js';

/**
 * A file a job reads, as stored with the job: everything of a `RunnerAsset` except the
 * URL, which is signed afresh each time the job is offered to a runner (a retry may come
 * long after the job was queued).
 */
export interface JobAsset {
  kind: RunnerAssetKind;
  id: string;
  sha256: string;
  bytes: number;
}

/** Where the bytes of one kind of asset id live; `GET /v1/assets` asks each source in turn. */
export interface AssetSource {
  /** The id prefix this source answers for, e.g. `upl_`. */
  readonly idPrefix: string;
  /** Runs in the tenant's scope; undefined when the tenant has no such asset. */
  locate(assetId: string): Promise<{ storageKey: string; contentType: string } | undefined>;
}

/** The job's assets as a runner gets them: each with a fresh, tenant-bound URL. */
export function offerAssets(signer: UrlSigner, tenantId: string, assets: readonly JobAsset[] | undefined): RunnerAsset[] {
  return (assets ?? []).map(({ kind, id, sha256, bytes }) => ({ kind, id, sha256, bytes, url: signer.assetUrl(tenantId, id) }));
}
