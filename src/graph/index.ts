/** `nm.graph` namespace. */
export {};
