/** The `{type}` path segments of BSS, and how a file's extension maps onto them. */
export const ASSET_TYPES = ['videos', 'audio', 'image', 'text-tracks', 'labels', 'tracks', 'files'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

export function isAssetType(value: unknown): value is AssetType {
  return typeof value === 'string' && (ASSET_TYPES as readonly string[]).includes(value);
}

const TYPE_BY_EXTENSION: Readonly<Record<string, AssetType>> = {
  '.mp4': 'videos',
  '.mkv': 'videos',
  '.wav': 'audio',
  '.mp3': 'audio',
  '.aac': 'audio',
  '.opus': 'audio',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.png': 'image',
  '.gif': 'image',
  '.webp': 'image',
  '.bmp': 'image',
  '.tif': 'image',
  '.tiff': 'image',
  '.srt': 'text-tracks',
  '.vtt': 'text-tracks',
  '.jsonl': 'labels',
  '.npy': 'tracks',
  '.msgpack': 'tracks',
  '.csv': 'tracks',
};

const CONTENT_TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.mkv': 'video/x-matroska',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.aac': 'audio/aac',
  '.opus': 'audio/opus',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.srt': 'application/x-subrip',
  '.vtt': 'text/vtt',
  '.jsonl': 'application/jsonl',
  '.npy': 'application/octet-stream',
  '.msgpack': 'application/msgpack',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}

/** The asset type for a file name: by extension, case-insensitive; `files` when unknown. */
export function detectType(name: string): AssetType {
  return TYPE_BY_EXTENSION[extensionOf(name)] ?? 'files';
}

/** The content type for a file name: by extension, case-insensitive; `application/octet-stream` when unknown. */
export function detectContentType(name: string): string {
  return CONTENT_TYPE_BY_EXTENSION[extensionOf(name)] ?? 'application/octet-stream';
}
