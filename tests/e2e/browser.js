// What every end-to-end file shares: Debian's headless Chromium through
// playwright-core (never a downloaded browser), a page that reports its
// script errors and CSP violations, and a gateway stopped with its log
// checked.

import fs from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// A browser and one page at viewport. The page's script errors go to
// problems, its CSP violations (securitypolicyviolation events, seen
// outside the page's CSP) to violations, Chromium's console reports of
// them to cspConsole.
export async function openBrowser({ viewport, problems, violations, cspConsole = [] }) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport, locale: 'en-US', acceptDownloads: true });
  // Runs before the page's own scripts, outside its CSP.
  await context.exposeBinding('reportCspViolation', (_source, v) => violations.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.reportCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
        page: location.pathname,
      });
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspConsole.push(m.text());
    // A CSP violation or a script error means the page is broken
    // somewhere; 404s from absent API routes are expected.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { browser, page };
}

// Stops the gateway and fails on what its log shows.
export async function stopGateway(gw) {
  // A gateway that died during the run explains every later failure.
  if (gw.exitCode !== undefined) console.log(`gateway exited early (${gw.exitCode}):\n${gw.output}`);
  await gw.stop();
  const p = gw.problems();
  fs.rmSync(gw.dir, { recursive: true, force: true });
  if (process.env.E2E_DEBUG) console.log(gw.output);
  if (p.length) throw new Error(`gateway log shows problems:\n${p.join('\n')}`);
}
