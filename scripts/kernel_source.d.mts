/** The memory import of every kernel module, exactly as the .wat files write it. */
export declare const MEMORY_IMPORT: string;
/** The files of each kernel module, in order (paths relative to src/kernels/). */
export declare const KERNEL_FILES: { sparse: string[]; gemm: string[] };
/** The text of kernel module `stem`: its first file with the bodies of the others spliced in. */
export declare function kernelSource(stem: 'sparse' | 'gemm'): string;
