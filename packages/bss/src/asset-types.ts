import { NotFoundError } from '@dreamlake/presign';

/** The `{type}` path segments BSS serves (SPEC §4). */
export const ASSET_TYPES = ['videos', 'audio', 'image', 'text-tracks', 'labels', 'tracks', 'files'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

export function isAssetType(value: unknown): value is AssetType {
  return typeof value === 'string' && (ASSET_TYPES as readonly string[]).includes(value);
}

/** A route hook: unknown asset types are 404 before anything else is looked at. */
export async function requireAssetType(request: { params: unknown }): Promise<void> {
  const type = (request.params as { type?: unknown }).type;
  if (!isAssetType(type)) throw new NotFoundError(`unknown asset type "${String(type)}"`);
}
