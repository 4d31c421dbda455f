/** `nm.solvers` namespace. */
export {};
