/**
 * Which GPU WebGL runs on: software rasterizers (SwiftShader, llvmpipe, Microsoft's
 * "Basic Render Driver", …) make tfjs' webgl backend tens of times slower than the cpu
 * backend for Neural Module layers, so `useBest()` skips them.
 */

/** Renderer strings of software WebGL implementations (case-insensitive). */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|basic render driver|software/i;

/** Renderer names recognised for a short label. */
const KNOWN_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|basic render driver|nvidia|geforce|quadro|radeon|amd|intel|apple|mali|adreno|powervr/i;

/** How a WebGL renderer string was classified. */
export interface WebglRendererInfo {
  /** The unmasked renderer string (or the masked one when the extension is missing); null: no WebGL. */
  renderer: string | null;
  /** True when the renderer is a software rasterizer. */
  software: boolean;
  /** A short name for messages ('SwiftShader', 'llvmpipe', 'NVIDIA', …). */
  label: string | null;
}

/**
 * Classifies a WebGL renderer string, e.g. `'ANGLE (Google, Vulkan 1.3.0 (SwiftShader
 * Device (Subzero) (0x0000C0DE)), SwiftShader driver)'` → software, label 'SwiftShader'.
 * Pure: no browser needed.
 */
export function classifyWebglRenderer(renderer: string | null | undefined): WebglRendererInfo {
  if (renderer == null || renderer.trim() === '') return { renderer: null, software: false, label: null };
  const known = KNOWN_RENDERER.exec(renderer);
  return { renderer, software: SOFTWARE_RENDERER.test(renderer), label: known ? known[0] : renderer.slice(0, 40) };
}

/**
 * Reads the WebGL renderer through a throwaway canvas (`WEBGL_debug_renderer_info`'s
 * UNMASKED_RENDERER_WEBGL, else RENDERER). Null without a DOM / OffscreenCanvas or WebGL.
 */
export function webglRenderer(): string | null {
  try {
    const g = globalThis as { document?: { createElement(tag: 'canvas'): HTMLCanvasElement }; OffscreenCanvas?: new (w: number, h: number) => OffscreenCanvas };
    const canvas: HTMLCanvasElement | OffscreenCanvas | null = g.document?.createElement
      ? g.document.createElement('canvas')
      : g.OffscreenCanvas
        ? new g.OffscreenCanvas(1, 1)
        : null;
    if (canvas == null) return null;
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return name;
  } catch {
    return null;
  }
}
