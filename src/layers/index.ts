/** `nm.layers` namespace. */
export {};
