// Website budgets in Debian's Chromium: time from opening a photo to its
// first deep-zoom tile on a throttled "slow 4G" connection (Lighthouse's
// profile: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up), cold cache.
// usage: node bench/website.mjs SITE_PAGE_URL
import { createRequire } from "node:module";

const require = createRequire(new URL("../viewer/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const url = process.argv[2];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
const runs = [];
for (let run = 0; run < 3; run++) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  const loadStart = Date.now();
  await page.goto(url, { waitUntil: "load" });
  const pageLoad = Date.now() - loadStart;
  const tile = page.waitForResponse((r) => /image_files\/\d+\/\d+_\d+\.jpg$/.test(r.url()) && r.status() === 200);
  const clicked = Date.now();
  await page.click("#gallery button >> nth=0");
  const response = await tile;
  await response.finished();
  // One frame later the tile is on the canvas.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  runs.push({ pageLoad, firstTile: Date.now() - clicked });
  await context.close();
}
await browser.close();
runs.sort((a, b) => a.firstTile - b.firstTile);
const median = runs[1];
console.log(`site page load (slow 4G): ${(median.pageLoad / 1000).toFixed(2)} s`);
console.log(`open photo -> first tile drawn (slow 4G): ${(median.firstTile / 1000).toFixed(2)} s (budget 1.5 s)`);
