import type { StoredFile } from './db/files.ts';

/** A file as the protocol answers it. */
export interface FileView {
  namespace: string;
  space: string;
  name: string;
  type: string;
  size: number;
  contentType: string;
  hash: string;
  uploadedBy: string;
  createdAt: string;
}

export function fileView(namespace: string, space: string, file: StoredFile): FileView {
  return {
    namespace,
    space,
    name: file.name,
    type: file.type,
    size: file.size,
    contentType: file.contentType,
    hash: file.hash,
    uploadedBy: file.uploadedBy,
    createdAt: file.createdAt,
  };
}
