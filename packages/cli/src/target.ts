import { UsageError } from './errors.ts';

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface SpaceRef {
  namespace: string;
  space: string;
}

function checkName(value: string, what: string, whole: string): string {
  if (!NAME.test(value)) throw new UsageError(`"${whole}": ${what} "${value}" must match ${NAME.source}`);
  return value;
}

/** `NAMESPACE/SPACE`. */
export function parseSpace(text: string): SpaceRef {
  const parts = text.split('/');
  if (parts.length !== 2) throw new UsageError(`"${text}" is not NAMESPACE/SPACE`);
  return { namespace: checkName(parts[0] ?? '', 'namespace', text), space: checkName(parts[1] ?? '', 'space', text) };
}

/** `NAMESPACE/SPACE/NAME`, where NAME may itself contain slashes. */
export function parseFileRef(text: string): SpaceRef & { name: string } {
  const parts = text.split('/');
  if (parts.length < 3 || parts.slice(2).some((p) => p === ''))
    throw new UsageError(`"${text}" is not NAMESPACE/SPACE/NAME`);
  return {
    namespace: checkName(parts[0] ?? '', 'namespace', text),
    space: checkName(parts[1] ?? '', 'space', text),
    name: parts.slice(2).join('/'),
  };
}

/** `NAMESPACE/SPACE[/PATH]`: PATH may hold slashes, and ends in `/` to name a folder. */
export function parseSpacePath(text: string): SpaceRef & { path: string } {
  const [namespace = '', space = '', ...rest] = text.split('/');
  return { ...parseSpace(`${namespace}/${space}`), path: rest.join('/') };
}
