// A real Chromium for browser tests, from npm alone: @sparticuz/chromium ships a headless Chromium build (unpacked
// to the temp directory on first use, ~18 s on a loaded 2-core box) and playwright-core drives it.
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser } from 'playwright-core';

// @sparticuz/chromium's flags are tuned for AWS Lambda. Three are dropped here:
// - --single-process: closing a second browser context (the test's signed-out visitor) takes the whole browser
//   down with it ("Target page, context or browser has been closed"); with the default process model it does not.
// - --disable-web-security and --allow-running-insecure-content: they turn off the same-origin policy and
//   mixed-content blocking, and so the dashboard's Content-Security-Policy would go untested.
// Everything else is kept (the sandbox cannot run as root here, hence --no-sandbox).
const DROPPED = new Set(['--single-process', '--disable-web-security', '--allow-running-insecure-content']);

export function browserArgs(): string[] {
  return chromium.args.filter((a) => !DROPPED.has(a));
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  return playwright.launch({ executablePath, args: browserArgs(), headless: true });
}
