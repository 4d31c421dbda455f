/** `nm.cff`: the cyclic forward-forward baseline (CFF) of the Neural Modules v4 paper; see docs/guide/cff.md. */
export { cyclicForwardForward, CFFNetwork, type CFFArgs, type CFFFitArgs, type CFFHistory } from './network.js';
