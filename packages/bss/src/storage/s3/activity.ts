import type { S3Client } from '@aws-sdk/client-s3';
import { unavailabilityOf } from './s3-errors.ts';

/** Told of S3's failures as BSS meets them (the metrics count them). */
export interface S3Observer {
  /** One attempt of an S3 request failed for S3's own reasons (5xx, throttled, reset, timed out). */
  attemptFailed(operation: string, error: string): void;
  /** An S3 request was sent `count` more times after failed attempts (whether it then succeeded or not). */
  retried(operation: string, count: number): void;
}

/** The observers of one backend's S3 client. */
export class S3Activity implements S3Observer {
  readonly #observers = new Set<S3Observer>();

  /** Tells `observer` from now on; answers the function that stops it. */
  watch(observer: S3Observer): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  attemptFailed(operation: string, error: string): void {
    for (const observer of this.#observers) observer.attemptFailed(operation, error);
  }

  retried(operation: string, count: number): void {
    if (count > 0) for (const observer of this.#observers) observer.retried(operation, count);
  }
}

type Next = (args: unknown) => Promise<{ output: unknown; response: unknown }>;

const operationOf = (commandName: string | undefined) => (commandName ?? 'request').replace(/Command$/, '');

/** Reports every failed attempt (inside the SDK's retries) and each request's retries to `activity`. */
export function observeS3(client: S3Client, activity: S3Activity): void {
  const eachAttempt = (next: Next, context: { commandName?: string }) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (error) {
      const why = unavailabilityOf(error);
      if (why !== null) activity.attemptFailed(operationOf(context.commandName), why);
      throw error;
    }
  };
  // The SDK's middleware types are generic over its commands; this one only passes them through.
  client.middlewareStack.addRelativeTo(eachAttempt as never, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'dreamlakeS3Attempts',
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const attempts = (metadata: { attempts?: number } | undefined) => (metadata?.attempts ?? 1) - 1;
      try {
        const result = await next(args);
        activity.retried(
          operationOf(context.commandName),
          attempts((result.output as { $metadata?: { attempts?: number } }).$metadata),
        );
        return result;
      } catch (error) {
        activity.retried(
          operationOf(context.commandName),
          attempts((error as { $metadata?: { attempts?: number } }).$metadata),
        );
        throw error;
      }
    },
    { step: 'initialize', name: 'dreamlakeS3Retries' },
  );
}
