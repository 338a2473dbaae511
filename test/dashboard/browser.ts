// A real Chromium for browser tests, from npm alone: @sparticuz/chromium ships a headless Chromium build (unpacked
// to the temp directory on first use, ~18 s on a loaded 2-core box) and playwright-core drives it.
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser } from 'playwright-core';

// @sparticuz/chromium's flags are tuned for AWS Lambda. Two of them would make the test prove less than it should:
// --disable-web-security and --allow-running-insecure-content turn off the same-origin policy and mixed-content
// blocking, and so the dashboard's Content-Security-Policy would go untested. Everything else is kept (the
// sandbox cannot run as root here, hence --no-sandbox; --single-process keeps one process on a 2-core box).
const WEAKENING = new Set(['--disable-web-security', '--allow-running-insecure-content']);

export function browserArgs(): string[] {
  return chromium.args.filter((a) => !WEAKENING.has(a));
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  return playwright.launch({ executablePath, args: browserArgs(), headless: true });
}
