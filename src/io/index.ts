/** `nm.io` namespace. */
export {};
