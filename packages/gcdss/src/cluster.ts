/** One entry point for the three mask-classification methods. */
import { InvalidArgumentError } from '@trustvision/core-tensor';
import { ssKMeansBaseline } from './baseline.js';
import {
  nergMaskCA,
  nergOfficialLeak,
  type ClusterMethod,
  type ClusterResult,
  type MaskSet,
  type NergOptions,
} from './nerg.js';

export interface ClusterOptions extends NergOptions {
  /** 'nerg' (default), 'baseline' (needs `novel`) or 'nerg-official-leak' (needs `gt`; comparison only). */
  method?: ClusterMethod;
}

/** Classifies every mask as a base class or a novel cluster with the chosen method. */
export async function clusterMasks(masks: MaskSet, options: ClusterOptions = {}): Promise<ClusterResult> {
  const method = options.method ?? 'nerg';
  if (method === 'nerg') return nergMaskCA(masks, options);
  if (method === 'nerg-official-leak') return nergOfficialLeak(masks, options);
  if (method === 'baseline') {
    if (options.novel === undefined)
      throw new InvalidArgumentError(
        'novel',
        undefined,
        'the number of novel clusters (the baseline does not estimate it)',
      );
    return ssKMeansBaseline(masks, { novel: options.novel, numBase: options.numBase, seed: options.seed });
  }
  throw new InvalidArgumentError('method', method, "'nerg', 'baseline' or 'nerg-official-leak'");
}
