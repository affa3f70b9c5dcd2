export { createFileIOHandler, MODEL_FILES, type FileIOHandler } from './file-io.ts';
