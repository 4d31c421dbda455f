/** `nm.analysis` namespace. */
export {};
