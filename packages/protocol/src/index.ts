export * from './asset-types.ts';
export * from './env.ts';
export * from './errors.ts';
export * from './part-checks.ts';
export * from './pool.ts';
export * from './rules.ts';
export * from './steps.ts';
export type * from './wire.ts';
