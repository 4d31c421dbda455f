/** Internal: edge masks, strongly connected components and solve schedules. */
export { magnitudeMask, keptEdgeCount, kthLargest, type EdgeMask, type Topology } from './mask.js';
export { stronglyConnectedComponents, type Components } from './tarjan.js';
export { buildSchedule, moduleLabels, type Schedule, type SolveStep } from './schedule.js';
export { spectralNormEstimate } from './spectral.js';
export { hopDistances, UNREACHABLE } from './hop_distance.js';
export { componentReachability, reaches, type Reachability } from './reachability.js';
