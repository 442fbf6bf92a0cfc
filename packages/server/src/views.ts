import type { IndexedFile } from '@dreamlake/protocol';
import type { StoredFile } from './db/files.ts';

/** A file as the protocol answers it (`IndexedFile`): the stored file without its row id, and where it is. */
export function fileView(namespace: string, space: string, file: StoredFile): IndexedFile {
  const { id: _id, ...rest } = file;
  return { namespace, space, ...rest } satisfies Required<IndexedFile>;
}
