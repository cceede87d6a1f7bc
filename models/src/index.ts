export * from './assets.js';
export * from './build.js';
export * from './tfjs/index.js';
export { RECIPES } from './recipes/index.js';
export { buildFaceres, faceresRecipe } from './recipes/faceres.js';
export { buildBlazeface, buildBlazefaceBack, blazefaceRecipe, blazefaceBackRecipe } from './recipes/blazeface.js';
export { buildFashionClassifier, fashionClassifierRecipe } from './recipes/fashion-classifier.js';
export { buildContrastiveEncoder, contrastiveEncoderRecipe } from './recipes/contrastive-encoder.js';
export { buildGcdssEncoder, gcdssEncoderRecipe } from './recipes/gcdss-encoder.js';
export {
  buildId3Fmnist,
  id3FmnistCard,
  id3FmnistDenoiserRecipe,
  id3FmnistFrRecipe,
  id3FmnistFrGradRecipe,
} from './recipes/id3-fmnist.js';
export {
  MINUSFACE_MODELS,
  buildMinusFace,
  minusfaceCard,
  minusfaceGeneratorRecipe,
  minusfaceRecognizerRecipe,
} from './recipes/minusface.js';
export * from './solvay.js';
