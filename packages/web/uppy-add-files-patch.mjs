// An esbuild plugin: Uppy's addFiles without its quadratic copy.
//
// @uppy/core 6 (`#checkAndUpdateFileState`, since its "stale state" fix) copies the whole file map
// after each file it adds, in case `onBeforeFileAdded` changed the state meanwhile: 13.7 s of the
// page's thread for a drop of 10,000 files (docs/web.md). The copy is only needed when the state
// did change; when it did not, `nextFilesState` already holds every file of it (it started as a
// copy and only grew), so skipping the copy gives the same map. The build fails when the text is
// not found, so an Uppy that changed this code is looked at again rather than left unpatched.
import { readFile } from 'node:fs/promises';

const QUADRATIC = `existingFiles = this.getState().files;
                nextFilesState = { ...existingFiles, ...nextFilesState };`;
const LINEAR = `if (this.getState().files !== existingFiles) {
                    existingFiles = this.getState().files;
                    nextFilesState = { ...existingFiles, ...nextFilesState };
                }`;

export const uppyAddFilesPatch = {
  name: 'uppy-add-files-patch',
  setup(build) {
    build.onLoad({ filter: /[\\/]@uppy[\\/]core[\\/]lib[\\/]Uppy\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(QUADRATIC)) {
        throw new Error(`${args.path}: the file-map copy of addFiles was not found; check the patch against this Uppy`);
      }
      return { contents: source.replace(QUADRATIC, LINEAR), loader: 'js' };
    });
  },
};
