/**
 * @trustvision/prob-contrastive — probabilistic contrastive loss on the r-radius von Mises–Fisher distribution.
 *
 * Skeleton: the log-Bessel numerics (log I_ν(κ) and the ratio A_d(κ)) are implemented; the vMF normaliser, the SCF
 * KL-to-Dirac loss, the contrastive loss variants with analytic gradients and the model adapter land with issue #6.
 */
export { besselRatio, debyePolynomial, KAPPA_SERIES, logBesselI, logGamma, NU_DEBYE } from './bessel.js';
