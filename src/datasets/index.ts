/** `nm.datasets`: CSV loading, seeded stratified splits, synthetic tasks. */
export { loadCsv, parseCsv, type Table, type CsvOptions } from './csv.js';
export { stratifiedSplit, subset, featureStats, standardize } from './split.js';
export { concentricShells, type ConcentricShellsOptions } from './shells.js';
