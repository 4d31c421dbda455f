/** `nm.callbacks` namespace. */
export {};
