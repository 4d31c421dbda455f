/**
 * The tfjs-layers base classes the package subclasses or tests against but which
 * tfjs-layers does not export (Regularizer, Initializer, Constraint): each reached
 * through the prototype of one of its public factories' products, typed by its
 * public shape. One place, so every regularizer, initializer and constraint of the
 * package extends the very class tfjs' deserializer checks for.
 */
import * as tf from '@tensorflow/tfjs-core';
import { constraints, initializers, regularizers } from '@tensorflow/tfjs-layers';
import type { Initializer, InitializerClass, Regularizer } from './tfjs_types.js';

/** Type-only view of tfjs-layers' `Regularizer` base class. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- declared for its type only (tfjs does not export the class)
declare abstract class RegularizerShape extends tf.serialization.Serializable {
  abstract apply(x: tf.Tensor): tf.Scalar;
}
/** Type-only view of tfjs-layers' `Constraint` base class. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- declared for its type only (tfjs does not export the class)
declare abstract class ConstraintShape extends tf.serialization.Serializable {
  abstract apply(w: tf.Tensor): tf.Tensor;
}

/** tfjs-layers' `Regularizer` base class. */
export const RegularizerBase = Object.getPrototypeOf(regularizers.l1().constructor) as typeof RegularizerShape;
/** tfjs-layers' `Initializer` base class. */
export const InitializerBase = Object.getPrototypeOf(initializers.zeros().constructor) as InitializerClass;
/** tfjs-layers' `Constraint` base class. */
export const ConstraintBase = Object.getPrototypeOf(constraints.nonNeg().constructor) as typeof ConstraintShape;
/** A tfjs-layers constraint instance. */
export type Constraint = InstanceType<typeof ConstraintBase>;

export const isInitializer = (v: unknown): v is Initializer => v instanceof InitializerBase;
export const isRegularizer = (v: unknown): v is Regularizer => v instanceof RegularizerBase;
export const isConstraint = (v: unknown): v is Constraint => v instanceof ConstraintBase;
