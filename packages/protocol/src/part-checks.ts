/**
 * The per-part integrity checks of a multipart upload. Every completed blob is verified against
 * its SHA-256 anyway; a per-part check catches a damaged part when it arrives, so that only that
 * part is sent again.
 *
 * - `crc32`: the CRC-32 (ISO-HDLC, as zlib and S3's `x-amz-checksum-crc32` compute it) of the part,
 *   base64 of its four big-endian bytes, sent in the `x-amz-checksum-crc32` header. BSS's disk
 *   backend checks it: many times cheaper than MD5 on a core without MD5 in hardware
 *   (docs/protocol.md, "Part PUTs").
 * - `md5`: the base64 MD5 in `Content-MD5`. The S3 backend uses it, as every S3-compatible store
 *   checks it (flexible checksums are not implemented by all of them); so do BSSs that predate
 *   `crc32` (their init answer names no check).
 */
export type PartCheck = 'crc32' | 'md5';

/** The header a part PUT carries its CRC-32 in (S3's name for it). */
export const CRC32_HEADER = 'x-amz-checksum-crc32';

/** Base64 of a CRC-32's four big-endian bytes: 8 characters, ending in `==`. */
export const CRC32_BASE64 = /^[A-Za-z0-9+/]{6}==$/;

/** A CRC-32 value (an unsigned 32-bit integer) as the header carries it. */
export function crc32Base64(value: number): string {
  const bytes = new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The ETag BSS's disk backend gives a part checked by CRC-32 (it computes no MD5 for it): the
 * CRC-32 and the size, in hex. A client that knows both can tell, when resuming, whether the part
 * BSS holds is its own. Two different parts of the same size share it once in 2^32; the SHA-256
 * of the whole blob still refuses such a mix.
 */
export function crc32Etag(crc32: string, size: number): string {
  return `${base64ToHex(crc32)}${size.toString(16).padStart(12, '0')}`;
}

/** Base64 bytes (a part's check) in lowercase hex, as ETags carry them. */
export function base64ToHex(base64: string): string {
  let hex = '';
  for (const ch of atob(base64)) hex += ch.charCodeAt(0).toString(16).padStart(2, '0');
  return hex;
}
