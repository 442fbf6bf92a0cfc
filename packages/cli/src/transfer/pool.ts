/** The bounded pool and semaphore the CLI's work runs through: the protocol client's, shared with the page. */
export { eachLimited, Semaphore } from '@dreamlake/protocol/client';
