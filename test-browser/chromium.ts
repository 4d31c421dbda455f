/** How the browser tests start Debian's Chromium (headless, no GPU, no network chatter). */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Chromium: /usr/bin/chromium (apt-get install chromium), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The command-line switches of every headless run. */
export const HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A persistent headless Chromium context in a fresh temporary profile; close the
 * context and remove `profile` when done.
 *
 * @example
 * const { context, profile } = await launchChromium('nm-chromium-');
 */
export async function launchChromium(
  prefix: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; profile: string }> {
  const profile = await mkdtemp(join(tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: HEADLESS_ARGS, ...options });
  return { context, profile };
}
