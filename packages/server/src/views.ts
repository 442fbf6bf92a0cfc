import type { StoredFile } from './db/files.ts';

/** A file as the protocol answers it: the stored file without its row id, and where it is. */
export type FileView = { namespace: string; space: string } & Omit<StoredFile, 'id'>;

export function fileView(namespace: string, space: string, file: StoredFile): FileView {
  const { id: _id, ...rest } = file;
  return { namespace, space, ...rest };
}
