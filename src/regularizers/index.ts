/** `nm.regularizers` namespace. */
export {};
