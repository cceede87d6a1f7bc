/** Every model `npm run models` builds, in build order. */
import type { Recipe } from '../build.js';
import { blazefaceBackRecipe, blazefaceRecipe } from './blazeface.js';
import { faceresRecipe } from './faceres.js';
import { contrastiveEncoderRecipe } from './contrastive-encoder.js';
import { fashionClassifierRecipe } from './fashion-classifier.js';

export const RECIPES: readonly Recipe[] = [
  faceresRecipe,
  blazefaceRecipe,
  blazefaceBackRecipe,
  fashionClassifierRecipe,
  contrastiveEncoderRecipe,
];
