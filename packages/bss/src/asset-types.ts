import { DreamLakeError } from '@dreamlake/presign';
import { isAssetType } from '@dreamlake/protocol';

/** The `{type}` path segments BSS serves are the protocol's asset types. */
export { ASSET_TYPES, type AssetType, isAssetType } from '@dreamlake/protocol';

/** A route hook: unknown asset types are 404 before anything else is looked at. */
export async function requireAssetType(request: { params: unknown }): Promise<void> {
  const type = (request.params as { type?: unknown }).type;
  if (!isAssetType(type)) throw new DreamLakeError('not_found', `unknown asset type "${String(type)}"`);
}
