/**
 * @trustvision/procal — ProCal (NeurIPS 2023) proximity-informed calibration.
 *
 * Skeleton: the calibration metrics with the official code's binning are implemented; proximity, Density-Ratio
 * calibration, Bin-Mean-Shift and the baseline calibrators land with issue #4.
 */
export { accuracy, confidenceBin, expectedCalibrationError, reliabilityBins } from './metrics.js';
export type { BinningOptions, ConfidenceArray, CorrectnessArray, ReliabilityBins } from './metrics.js';
