/**
 * @trustvision/procal — ProCal (NeurIPS 2023) proximity-informed calibration as array math: K-NN proximity,
 * Density-Ratio calibration, Bin-Mean-Shift (paper and code forms), the baseline calibrators (TS, ETS, PTS, PTSK, HB,
 * IR, MIR), the metrics (ECE, ACE, MCE, PIECE, NLL, Brier, AUROC, bias index), SVG reliability diagrams and an ONNX
 * model adapter.
 */
export {
  accuracy,
  ace,
  auroc,
  brier,
  confidenceBin,
  ece,
  evaluate,
  expectedCalibrationError,
  mceStandard,
  mceWeighted,
  nll,
  piece,
  reliabilityBins,
  topLabel,
} from './metrics.js';
export type {
  BinningOptions,
  BrierOptions,
  CalibrationReport,
  ConfidenceArray,
  CorrectnessArray,
  EvaluateInput,
  EvaluateOptions,
  NllOptions,
  PieceOptions,
  ReliabilityBins,
  TopLabel,
} from './metrics.js';
export { binIndex, percentileEdges, percentileLinear, quantileEdges, uniformEdges, kmeansEdges } from './binning.js';
export { ProximityIndex, proximity, proximityFromDistances } from './proximity.js';
export type {
  FeatureNormalization,
  NeighbourResult,
  ProximityAggregate,
  ProximityIndexJSON,
  ProximityOptions,
} from './proximity.js';
export { ProductGaussianKde2D, fastExpNeg, normalReferenceBandwidth, populationStd } from './kde.js';
export type { KdeEvalOptions } from './kde.js';
export { DensityRatioCalibrator } from './density-ratio.js';
export type {
  DensityRatioFitInput,
  DensityRatioJSON,
  DensityRatioOptions,
  DensityRatioScores,
} from './density-ratio.js';
export { IsotonicRegression, pava } from './isotonic.js';
export type { IsotonicJSON, IsotonicOptions } from './isotonic.js';
export {
  BASE_METHODS,
  BINNING_METHODS,
  CONTINUOUS_METHODS,
  Calibrator,
  fitTemperature,
  simplexQp3,
} from './calibrators.js';
export type { BaseMethod, CalibratorInput, CalibratorJSON, CalibratorOptions, PtsOptions } from './calibrators.js';
export { BinMeanShift, ProximityStratified } from './bms.js';
export type {
  BinMeanShiftJSON,
  BinMeanShiftOptions,
  ProximityStratifiedJSON,
  ProximityStratifiedOptions,
  StratifyStrategy,
} from './bms.js';
export { ProximityCalibrator, resolveMethod } from './procal.js';
export type {
  ModelOutputs,
  Prediction,
  ProcalMethod,
  ProximityCalibratorJSON,
  ProximityCalibratorOptions,
} from './procal.js';
export { biasIndex, erfc, rankSumTest } from './bias.js';
export type { BiasIndexOptions, BiasIndexResult } from './bias.js';
export { comparisonFigureSvg, proximityDiagramSvg, reliabilityDiagramSvg } from './plot.js';
export type { DiagramData, DiagramOptions } from './plot.js';
export { ClassifierModel, ProCal } from './model.js';
export type { ClassifierInput, ClassifierModelOptions, ClassifierOutputs } from './model.js';
export type { LabelInput, MatrixInput, ProbabilityCheck } from './validate.js';
