import type { AssetType } from './types.ts';

/** How a file name maps onto an asset type and a media type (SPEC §5, as the CLI does it). */
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

export function detectType(name: string): AssetType {
  return TYPE_BY_EXTENSION[extensionOf(name)] ?? 'files';
}

export function detectContentType(name: string): string {
  return CONTENT_TYPE_BY_EXTENSION[extensionOf(name)] ?? 'application/octet-stream';
}
