export * from './assets.js';
export * from './build.js';
export * from './tfjs/index.js';
export { RECIPES } from './recipes/index.js';
export { buildFaceres, faceresRecipe } from './recipes/faceres.js';
export { buildBlazeface, buildBlazefaceBack, blazefaceRecipe, blazefaceBackRecipe } from './recipes/blazeface.js';
export { buildFashionClassifier, fashionClassifierRecipe } from './recipes/fashion-classifier.js';
export { buildContrastiveEncoder, contrastiveEncoderRecipe } from './recipes/contrastive-encoder.js';
export * from './solvay.js';
