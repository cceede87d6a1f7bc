/** Every model `npm run models` builds, in build order. */
import type { Recipe } from '../build.js';
import { blazefaceBackRecipe, blazefaceRecipe } from './blazeface.js';
import { faceresRecipe } from './faceres.js';
import { contrastiveEncoderRecipe } from './contrastive-encoder.js';
import { fashionClassifierRecipe } from './fashion-classifier.js';
import { gcdssEncoderRecipe } from './gcdss-encoder.js';
import { id3FmnistDenoiserRecipe, id3FmnistFrGradRecipe, id3FmnistFrRecipe } from './id3-fmnist.js';
import { minusfaceGeneratorRecipe, minusfaceRecognizerRecipe } from './minusface.js';

export const RECIPES: readonly Recipe[] = [
  faceresRecipe,
  blazefaceRecipe,
  blazefaceBackRecipe,
  fashionClassifierRecipe,
  contrastiveEncoderRecipe,
  gcdssEncoderRecipe,
  id3FmnistDenoiserRecipe,
  id3FmnistFrRecipe,
  id3FmnistFrGradRecipe,
  minusfaceGeneratorRecipe,
  minusfaceRecognizerRecipe,
];
