// The web page in a real browser (issue 21): Debian's chromium, headless, driven by puppeteer-core.
//
//   node tests/server/browser/page.test.mjs URL IMAGE WIDTH HEIGHT SCREENSHOT
//
// URL: a scales-server's HTTP front door; IMAGE: an image that the default x2 model turns into
// WIDTH x HEIGHT. Loads the page, checks it fetches nothing from elsewhere, fills the model
// picker, shows a server error in words, picks the image from the keyboard, waits for the result,
// checks its size and the before/after slider (arrow keys and a drag), and saves a screenshot.
// Exits 0 when every check passes; tests/server/test_http_page.py runs it.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [url, image, width, height, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error("usage: page.test.mjs URL IMAGE WIDTH HEIGHT SCREENSHOT");
  process.exit(2);
}
const origin = new URL(url).origin;
const step = (what) => console.log("page test: " + what);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--font-render-hinting=none"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 900 });
  const foreign = [], problems = [];
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")) foreign.push(u);
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    // The error case below answers 400 on purpose; Chromium logs that failed request.
    if (m.type() === "error" && !/status of 400/.test(m.text())) problems.push("console: " + m.text());
  });

  step("load " + url);
  await page.goto(url, { waitUntil: "networkidle0" });
  await page.waitForFunction(() => document.querySelector("#model").value !== "", { timeout: 30000 });
  const models = await page.$$eval("#model option", (os) => os.map((o) => o.value));
  assert.ok(models.includes("scales-edsr-x2"), "the model picker lists scales-edsr-x2: " + models);
  assert.equal(await page.$eval("#model", (s) => s.value), "scales-edsr-x2", "the default x2 model is chosen");

  step("a file that is not an image: the server's 400 is shown in words");
  const junk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "scales-page-")), "not-an-image.png");
  fs.writeFileSync(junk, "this is text, not a PNG");
  await (await page.$("#file")).uploadFile(junk);
  await page.waitForFunction(() => !document.querySelector("#go").disabled);
  await page.click("#go");
  await page.waitForFunction(() => document.querySelector("#error").textContent.length > 0, { timeout: 60000 });
  const said = await page.$eval("#error", (e) => e.textContent);
  assert.match(said, /could not use this image/, "error in words: " + said);

  step("pick " + path.basename(image) + " with the keyboard (Enter on the drop zone), then Upscale");
  // Enter on the drop zone must open the file picker (a click on the file input). Headless
  // Chromium does not always raise the picker for a scripted key press, so the file itself is
  // handed to the input when the picker does not show.
  await page.evaluate(() => {
    window.pickerOpened = false;
    document.querySelector("#file").addEventListener("click", () => (window.pickerOpened = true), { once: true });
  });
  await page.focus("#drop");
  const chooser = page.waitForFileChooser({ timeout: 5000 }).catch(() => null);
  await page.keyboard.press("Enter");
  assert.ok(await page.evaluate(() => window.pickerOpened), "Enter on the drop zone opens the file picker");
  const picker = await chooser;
  if (picker) await picker.accept([image]);
  else await (await page.$("#file")).uploadFile(image);
  await page.waitForFunction(() => document.querySelector("#chosen").textContent.includes("Chosen"));
  assert.equal(await page.$eval("#error", (e) => e.textContent), "", "choosing a file clears the error");
  await page.focus("#go");
  await page.keyboard.press("Enter");
  // The progress bar shows while the server works.
  await page.waitForFunction(() => !document.querySelector("#progress").hidden, { timeout: 10000 }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector("#result").hidden, { timeout: 300000 });

  step("the result's size, and the original shown at the same size");
  const s = await page.evaluate(() => {
    const a = document.querySelector("#after").getBoundingClientRect();
    const b = document.querySelector("#before").getBoundingClientRect();
    return {
      w: document.querySelector("#after").naturalWidth,
      h: document.querySelector("#after").naturalHeight,
      shown: [a.width, a.height, b.width, b.height].map(Math.round),
      progressHidden: document.querySelector("#progress").hidden,
      download: document.querySelector("#download").getAttribute("download"),
      info: document.querySelector("#info").textContent,
    };
  });
  assert.deepEqual([s.w, s.h], [Number(width), Number(height)], "result size");
  assert.equal(s.shown[0], s.shown[2], "before and after are as wide");
  assert.equal(s.shown[1], s.shown[3], "before and after are as high");
  assert.ok(s.progressHidden, "the progress bar is gone when done");
  assert.match(s.download, /-scales-edsr-x2\.png$/, "download name: " + s.download);
  assert.match(s.info, new RegExp(`${width} \u00d7 ${height} px`), "info line: " + s.info);

  step("the slider: arrow keys, then a drag on the picture");
  const clip = () => page.$eval("#before", (e) => e.style.clipPath);
  assert.equal(await page.evaluate(() => document.activeElement.id), "slider", "focus moves to the slider");
  assert.equal(await clip(), "inset(0px 50% 0px 0px)");
  for (let i = 0; i < 10; i++) await page.keyboard.press("ArrowLeft");
  assert.equal(await page.$eval("#slider", (e) => e.value), "40");
  assert.equal(await clip(), "inset(0px 60% 0px 0px)");
  await page.$eval("#compare", (e) => e.scrollIntoView());
  const box = await (await page.$("#compare")).boundingBox();
  const y = box.y + Math.min(box.height / 2, 100);
  await page.mouse.move(box.x + box.width * 0.1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.75, y, { steps: 5 });
  await page.mouse.up();
  const dragged = Number(await page.$eval("#slider", (e) => e.value));
  assert.ok(Math.abs(dragged - 75) <= 1, "drag to 75%: " + dragged);

  step("screenshot " + screenshot);
  await page.$eval("#slider", (e) => {
    e.value = 50;
    e.dispatchEvent(new Event("input"));
  });
  await page.mouse.move(0, 0);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshot, fullPage: true });

  assert.deepEqual(foreign, [], "requests to another origin");
  assert.deepEqual(problems, [], "page errors");
  step("passed");
} finally {
  await browser.close();
}
