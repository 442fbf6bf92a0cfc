/** Asset types, and how a file's extension maps onto them: the protocol's table. */
export { ASSET_TYPES, type AssetType, detectContentType, detectType, isAssetType } from '@dreamlake/protocol';
