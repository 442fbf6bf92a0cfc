/** How a file name maps onto an asset type and a media type: the protocol's table, as the CLI uses it. */
export { detectContentType, detectType } from '@dreamlake/protocol';
