// The published website in a real browser (Debian's Chromium, headless,
// driven by Playwright): what the public sees on a desktop and a phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const ROOT = process.env.HERITAGE_ROOT_URL;
const SUBPATH = process.env.HERITAGE_SUBPATH_URL;
const SHOTS = process.env.HERITAGE_SCREENSHOTS;
let browser;

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

before(async () => {
  // WebGL without a GPU: Chromium's software renderer.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--enable-unsafe-swiftshader"] });
});
after(async () => browser?.close());

/** A new page that records console errors, failed responses and dialogs. */
async function open(url, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`error: ${e.message}`));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss();
  });
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  await page.goto(url);
  return { page, problems };
}

test("home lists exactly the published sites, hostile text as text", async () => {
  const { page, problems } = await open(ROOT);
  const titles = await page.locator("#cards h2 [lang=vi], #cards h2").allTextContents();
  const cards = await page.locator("#cards > li").count();
  assert.equal(cards, 2);
  assert.ok(titles.some((t) => t.includes("Nhà Tổng Thận (mô phỏng)")), titles.join("|"));
  assert.ok(titles.some((t) => t.includes("<script>alert(1)</script>")), "the hostile title shows as text");
  assert.ok(!(await page.content()).includes("Đình Bí Mật"), "the unpublished site is absent");
  await page.screenshot({ path: `${SHOTS}/home.png`, fullPage: true });
  assert.deepEqual(problems, []);
});

test("search without diacritics finds the site", async () => {
  const { page, problems } = await open(ROOT);
  await page.fill("#search", "nha tong than");
  const visible = page.locator("#cards > li:not([hidden])");
  assert.equal(await visible.count(), 1);
  assert.match(await visible.first().textContent(), /Nhà Tổng Thận/);
  await page.fill("#search", "khong co di tich nay");
  assert.equal(await visible.count(), 0);
  assert.ok(await page.locator("#no-results").isVisible());
  assert.deepEqual(problems, []);
});

test("language switch shows English, and back", async () => {
  const { page, problems } = await open(ROOT);
  await page.click(".lang-switch");
  assert.ok(await page.getByText("Long An Heritage").isVisible());
  await page.click(".lang-switch");
  assert.ok(await page.getByText("Di sản Long An").isVisible());
  assert.deepEqual(problems, []);
});

/** The DZI level of a tile URL, or -1. */
function level(url) {
  const m = url.match(/image_files\/(\d+)\/\d+_\d+\.jpg$/);
  return m ? Number(m[1]) : -1;
}

/** Opens the demo site's first photo and zooms in; returns the DZI levels fetched. */
async function deepZoom(baseUrl, shot) {
  // A small window, so the first view does not need the finest level.
  const { page, problems } = await open(baseUrl, { width: 400, height: 300 });
  const levels = new Set();
  page.on("response", (r) => {
    if (level(r.url()) >= 0 && r.status() === 200) levels.add(level(r.url()));
  });
  await page.click("a[href*='nha-tong-than-mo-phong']");
  // Until the load event the gallery's script may not have run, and a click would open the plain preview.
  await page.waitForURL("**/nha-tong-than-mo-phong/**");
  assert.match(await page.locator("h1 [lang=vi]").textContent(), /Nhà Tổng Thận \(mô phỏng\)/);
  await page.click("#gallery a >> nth=0");
  // The viewer clears aria-busy once every tile of the first view is in.
  await page.waitForSelector("#deep-zoom[aria-busy=false]");
  const before = Math.max(...levels);
  const deeper = page.waitForResponse((r) => level(r.url()) > before && r.status() === 200);
  for (let i = 0; i < 4; i++) await page.click("#zoom-in");
  await deeper;
  const after = Math.max(...levels);
  if (shot) await page.screenshot({ path: `${SHOTS}/${shot}` });
  await page.click("#next");
  await page.waitForLoadState("networkidle");
  assert.match(await page.locator("#caption").textContent(), /^2 \/ 16/);
  await page.keyboard.press("Escape");
  assert.ok(await page.locator("#viewer").isHidden());
  return { before, after, problems };
}

test("a photo opens in deep zoom and zooming in loads deeper levels", async () => {
  const { before, after, problems } = await deepZoom(ROOT, "deep-zoom.png");
  assert.ok(after > before, `levels ${before} -> ${after}`);
  assert.deepEqual(problems, []);
});

test("a photo held turned opens upright in deep zoom", async () => {
  // The demo's 5th and 13th photos were held turned, with no EXIF tag to say so.
  const { page, problems } = await open(ROOT + SITE);
  const turns = await page.evaluate(() => JSON.parse(document.getElementById("photos").textContent).map((p) => p.turn));
  assert.deepEqual(turns.filter((turn) => turn !== 0), [-90, 90]);
  const index = turns.indexOf(90);
  const thumb = page.locator(`#gallery img >> nth=${index}`);
  await thumb.scrollIntoViewIfNeeded();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle());
  const [width, height] = await thumb.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  assert.ok(width > height, `the thumbnail is ${width}x${height}`);
  await page.click(`#gallery a >> nth=${index}`);
  await page.waitForSelector("#deep-zoom[aria-busy=false]");
  const view = await page.evaluate(() => {
    const viewer = OpenSeadragon.getViewer(document.getElementById("deep-zoom"));
    const home = viewer.world.getHomeBounds();
    return { degrees: viewer.world.getItemAt(0).getRotation(), wide: home.width > home.height };
  });
  assert.deepEqual(view, { degrees: 90, wide: true });
  await page.screenshot({ path: `${SHOTS}/turned.png` });
  assert.deepEqual(problems, []);
});

test("everything works under a sub-path", async () => {
  const { before, after, problems } = await deepZoom(SUBPATH, null);
  assert.ok(after > before, `levels ${before} -> ${after}`);
  assert.deepEqual(problems, []);
  // The 3D view too: its libraries, model and tour are found by relative links.
  const site = await open(SUBPATH + "sites/nha-tong-than-mo-phong/index.html");
  await site.page.locator("#model").scrollIntoViewIfNeeded();
  await site.page.waitForSelector("#model[data-ready=true]");
  assert.deepEqual(site.problems, []);
});

test("a 390x844 phone has no horizontal scroll", async () => {
  for (const [path, shot] of [["", "phone-home.png"], ["sites/nha-tong-than-mo-phong/index.html", "phone-site.png"]]) {
    const { page, problems } = await open(ROOT + path, { width: 390, height: 844 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${path}: ${width} px wide`);
    await page.screenshot({ path: `${SHOTS}/${shot}`, fullPage: true });
    assert.deepEqual(problems, []);
  }
});

const SITE = "sites/nha-tong-than-mo-phong/index.html";

/** Pixels of the 3D canvas that differ from its empty background. */
async function drawnPixels(page) {
  return page.evaluate(() => {
    const canvas = document.getElementById("model-canvas");
    const copy = document.createElement("canvas");
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext("2d");
    context.drawImage(canvas, 0, 0);
    const data = context.getImageData(0, 0, copy.width, copy.height).data;
    let drawn = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - 238) + Math.abs(data[i + 1] - 240) + Math.abs(data[i + 2] - 242) > 30) drawn++;
    }
    return drawn;
  });
}

test("the 3D view draws the model and the tour moves from photo to photo", async () => {
  const { page, problems } = await open(ROOT + SITE);
  await page.locator("#model").scrollIntoViewIfNeeded();
  await page.waitForSelector("#model[data-ready=true]");
  await page.waitForFunction(() => document.getElementById("model-canvas").width > 0);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const drawn = await drawnPixels(page);
  assert.ok(drawn > 500, `only ${drawn} pixels drawn`);
  await page.locator("#model").screenshot({ path: `${SHOTS}/model.png` });

  await page.click("#tour-right");
  await page.waitForSelector("#tour-photo.shown");
  const first = await page.getAttribute("#model", "data-photo");
  await page.click("#tour-right");
  await page.waitForFunction((before) => {
    const photo = document.getElementById("model").dataset.photo;
    return photo !== undefined && photo !== before && document.getElementById("tour-photo").classList.contains("shown");
  }, first);
  const second = await page.getAttribute("#model", "data-photo");
  assert.notEqual(second, first, "the tour moved to another photo");
  await page.locator("#model").screenshot({ path: `${SHOTS}/tour.png` });
  // The up arrow steps closer: to the nearest photo ahead that tour.json lists.
  const tour = await page.evaluate(() => fetch("model/tour.json").then((r) => r.json()));
  const ahead = tour.photos[Number(second)].closer[0];
  await page.focus("#model-canvas");
  await page.keyboard.press("ArrowUp");
  if (ahead !== undefined) {
    await page.waitForFunction((i) => document.getElementById("model").dataset.photo === String(i), ahead);
  }
  // The photo hands over to deep zoom.
  await page.click("#tour-detail");
  assert.ok(await page.locator("#viewer").isVisible());
  await page.keyboard.press("Escape");
  await page.click("#tour-overview");
  await page.waitForFunction(() => document.getElementById("model").dataset.photo === undefined);
  assert.deepEqual(problems, []);
});

test("without JavaScript a photo opens as its preview image", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(ROOT + SITE);
    const preview = page.waitForResponse((r) => r.url().endsWith("/preview.jpg"));
    await page.click("#gallery a >> nth=0");
    const response = await preview;
    assert.match(page.url(), /\/photos\/[^/]+\/preview\.jpg$/);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()["content-type"], "image/jpeg");
  } finally {
    await context.close();
  }
});

test("without WebGL the site page falls back to the gallery", async () => {
  const plain = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-webgl", "--disable-3d-apis"] });
  try {
    const page = await plain.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(ROOT + SITE);
    assert.ok(await page.locator("#no-webgl").isVisible());
    assert.ok(await page.locator("#stage").isHidden());
    await page.click("#gallery a >> nth=0");
    assert.ok(await page.locator("#viewer").isVisible());
    assert.deepEqual(errors, []);
  } finally {
    await plain.close();
  }
});
