/**
 * tfjs-layers types that the package's public API needs but that tfjs-layers does
 * not export by name, derived here from its public exports only.
 *
 * Why: importing them from deep paths (`@tensorflow/tfjs-layers/dist/...`) puts those
 * paths into the emitted `.d.ts` files, which breaks TypeScript consumers that check
 * library types (`skipLibCheck: false`) whenever the deep path does not resolve (for
 * example under package `exports` or another tfjs layout). Everything below resolves
 * through `@tensorflow/tfjs-core` / `@tensorflow/tfjs-layers` main entries.
 */
import type { serialization } from '@tensorflow/tfjs-core';
import type { initializers, layers, regularizers } from '@tensorflow/tfjs-layers';

/** Base arguments of every tfjs layer (`name`, `inputShape`, `trainable`, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** A tfjs-layers weight initializer instance (the `Initializer` base class of tfjs-layers). */
export type Initializer = ReturnType<typeof initializers.ones>;

/** A tfjs-layers weight regularizer instance (the `Regularizer` base class of tfjs-layers). */
export type Regularizer = ReturnType<typeof regularizers.l1>;

/** A layer's shape argument: dimensions, `null` for the batch or unknown ones. */
export type Shape = Array<number | null>;

/** The keyword arguments tfjs passes to `Layer.call` (`training`, `mask`, ...). */
export type Kwargs = Parameters<InstanceType<typeof layers.Layer>['call']>[1];

/**
 * The constructor type of the `Initializer` base class (abstract, with the static
 * `fromConfig` of `serialization.Serializable`), for subclassing it.
 */
export type InitializerClass = Omit<typeof serialization.Serializable, 'prototype'> & (abstract new () => Initializer);
