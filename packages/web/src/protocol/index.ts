/**
 * The DreamLake protocol over `fetch`: the server's API (grants, register, list, download grants)
 * and BSS's signed steps. No DOM, no framework: the page imports it, and Node 20's global `fetch`
 * runs it as well.
 */
export { bss } from './bss.ts';
export { errorFromAnswer, isExpired, isTransient, ProtocolError, requestJson, withQuery } from './http.ts';
export { detectContentType, detectType } from './names.ts';
export { choosePartSize, MIB, planParts, SINGLE_UPLOAD_MAX_BYTES } from './parts.ts';
export { ServerApi } from './server.ts';
export type * from './types.ts';
