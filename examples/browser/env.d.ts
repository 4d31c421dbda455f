/** Vite's `?raw` imports: the file's text. */
declare module '*?raw' {
  const text: string;
  export default text;
}

interface Window {
  /** Set when training and evaluation have finished (or failed: see `__nmError`). */
  __nmDone?: boolean;
  /** The error message when the page failed. */
  __nmError?: string;
  /** FNV-1a hashes of the structure picture: index 0 before training, then one per epoch. */
  __nmPictureHashes?: string[];
  /** Everything the page measured, for the browser test. */
  __nmResult?: import('./main.js').PageResult;
}
