/** Request limits of the many-files routes (docs/protocol.md, "Many files"). */

const MiB = 1024 * 1024;

/** Entries in one `POST /uploads/batch` or `POST …/files/batch`. */
export const BATCH_MAX_FILES = 1000;

/** Entries in one `POST …/files/lookup`. */
export const LOOKUP_MAX_FILES = 10_000;

/**
 * Bodies of the batch routes. An entry with the longest file name JSON can spell (1024 bytes of
 * escaped characters), a media type and a receipt stays under 5 KiB, so 1000 of them fit.
 */
export const BATCH_MAX_BODY_BYTES = 5 * MiB;

/** The lookup body: 10,000 names and hashes. */
export const LOOKUP_MAX_BODY_BYTES = 16 * MiB;

/** Largest file a batch grant offers a single-shot `singleUrl` for: one part (the protocol's rule). */
export { SINGLE_UPLOAD_MAX_BYTES } from '@dreamlake/protocol';
