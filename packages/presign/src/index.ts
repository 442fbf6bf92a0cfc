export { encode, canonicalString, type SignedParams } from './canonical.ts';
export { sign, signCanonical, presign, presignUrl, MAX_LIFETIME_SECONDS, type PresignOptions, type Presigned } from './sign.ts';
export { verify, hasSignature, type VerifyOptions, type VerifiedScope, type RawQuery } from './verify.ts';
export * from './errors.ts';
export { signReceipt, verifyReceipt, RECEIPT_ACTION, type BlobReceipt, type ReceiptScope } from './receipt.ts';
