/** Face detection, alignment and embedding shared by the face packages (browser-safe). */
export * from './sample.js';
export * from './model.js';
export * from './blazeface.js';
export * from './pipeline.js';
