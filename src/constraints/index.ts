/** `nm.constraints`: graph constraints of the Neural Module layer. */
export { contractive, ContractiveConstraint, type ContractiveArgs } from './contractive.js';
