import type { S3Client } from '@aws-sdk/client-s3';

/** One command as a test sees it go out: its class name and input. */
export interface Sent {
  name: string;
  input: {
    Key?: string;
    CopySource?: string;
    PartNumber?: number;
    UploadId?: string;
    Prefix?: string;
  };
}

/**
 * The bucket's client, with `hook` run (once) just before the first command `when` picks, and
 * every command logged to `log`. `around`, when given, wraps every send (to delay or fail one).
 */
export function withHook(
  client: S3Client,
  when: (command: Sent) => boolean,
  hook: () => Promise<void>,
  log: Sent[] = [],
  around?: (command: Sent, send: () => Promise<unknown>) => Promise<unknown>,
): S3Client {
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  let armed = true;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: { input: Sent['input'] }) => {
        const sent = { name: command.constructor.name, input: command.input };
        log.push(sent);
        if (armed && when(sent)) {
          armed = false;
          await hook();
        }
        return around ? around(sent, () => send(command)) : send(command);
      };
    },
  });
}
