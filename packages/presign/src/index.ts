export { canonicalParams, canonicalString, encode, type SignedParams } from './canonical.ts';
export * from './errors.ts';
export { RECEIPT_ACTION, type ReceiptScope, signReceipt, verifyReceipt } from './receipt.ts';
export {
  MAX_LIFETIME_SECONDS,
  type Presigned,
  type PresignOptions,
  presign,
  presignUrl,
  presignUrls,
  sign,
  signCanonical,
} from './sign.ts';
export { hasSignature, type RawQuery, type VerifiedScope, type VerifyOptions, verify } from './verify.ts';
