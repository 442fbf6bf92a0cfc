import type { BlobRef, Storage } from '../storage/storage.ts';
import { verifyBlob } from './verify.ts';

/**
 * A trigger: a function BSS runs on one stored blob when asked at `POST /lambda/{name}` (the URL
 * keeps its historical name; nothing here is AWS Lambda code).
 */
export type Trigger = (storage: Storage, blob: BlobRef) => Promise<unknown>;

export const TRIGGERS: Readonly<Record<string, Trigger>> = Object.freeze({
  verify: verifyBlob,
});
