// The page every bundler builds (esbuild, webpack 5, Rollup, Vite) with no
// package-specific configuration: the browser entry of tfjs-neural-modules.
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { exercise } from '../common.mjs';

const name = new URLSearchParams(location.search).get('name') ?? 'page';
exercise(tf, nm, {
  browser: true,
  urls: [
    [`localstorage://nm-${name}`, `localstorage://nm-${name}`],
    [`indexeddb://nm-${name}`, `indexeddb://nm-${name}`],
  ],
}).then(
  (result) => {
    window.__result = result;
  },
  (e) => {
    window.__error = String(e?.stack ?? e);
  },
);
