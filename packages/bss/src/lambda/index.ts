import type { BlobRef, Storage } from '../storage/storage.ts';
import { verifyBlob } from './verify.ts';

/** A Lambda trigger: a function BSS runs on one stored blob, at `POST /lambda/{name}`. */
export type LambdaFunction = (storage: Storage, blob: BlobRef) => Promise<unknown>;

export const LAMBDAS: Readonly<Record<string, LambdaFunction>> = Object.freeze({
  verify: verifyBlob,
});
