import type { Io } from '../context.ts';
import { authenticate, type LoginOptions } from './login.ts';

/** Creates an account (when the server allows sign-up) and logs in as it. */
export function signup(io: Io, options: LoginOptions): Promise<void> {
  return authenticate(io, options, 'signup');
}
