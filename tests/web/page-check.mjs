// Drives headless Chromium against LayerChop's live sweep page; run by tests/Client.Tests/WebPageTests.cs.
//
//   node page-check.mjs BASE_URL SWEEP LATE_ID SCREENSHOT
//
// Loads BASE_URL/sweeps/SWEEP and checks that the page shows what the API says (the candidates, the front).
// Then prints "ready" on stdout: the caller completes candidate LATE_ID meanwhile, and the page must show it
// completed without a reload. Then it clicks a completed candidate, checks its loss curve has points, saves a
// PNG screenshot to SCREENSHOT, and checks that an unknown sweep's page is an HTML 404. Exit 0 when all hold.
import { chromium } from "playwright-core";

const [base, sweep, lateId, screenshot] = process.argv.slice(2);
if (!screenshot) { console.error("usage: node page-check.mjs BASE_URL SWEEP LATE_ID SCREENSHOT"); process.exit(2); }

function check(ok, message) { if (!ok) throw new Error(message); }
const api = async path => (await fetch(base + path)).json();
const sameIds = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

const browser = await chromium.launch({
  executablePath: process.env.LAYERCHOP_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  // launch() gives the browser a new empty profile folder of its own (it refuses --user-data-dir).
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
  const errors = [];
  page.on("pageerror", e => errors.push(e.message));

  const response = await page.goto(`${base}/sweeps/${sweep}`);
  check(response.status() === 200, `/sweeps/${sweep}: status ${response.status()}`);
  const status = await api(`/api/sweeps/${sweep}`);
  const front = await api(`/api/sweeps/${sweep}/front`);
  await page.waitForSelector(`#candidates[data-count="${status.total}"]`, { timeout: 10000 });
  check(await page.locator("#candidates tbody tr").count() === status.total, "the table does not list every candidate");
  await page.waitForFunction(n => document.querySelector("#pareto")?.dataset.points === String(n),
    status.counts.completed, { timeout: 10000 });
  const shownFront = (await page.getAttribute("#pareto", "data-front")).split(",").filter(Boolean);
  check(sameIds(shownFront, front.by_params.map(p => p.id)), `front shown ${shownFront}, API ${front.by_params.map(p => p.id)}`);
  const working = status.candidates.filter(c => c.progress && c.status === "healing");
  check(working.length > 0, "the API shows no candidate healing with progress");
  for (const c of working)
    await page.waitForSelector(`tr[data-id="${c.id}"] .bar`, { timeout: 5000 });
  // At 1400 px the candidates table fits its card: nothing of its last column is cut or hidden in a scroll.
  const fits = await page.evaluate(() => { const w = document.querySelector(".table-wrap"); return [w.scrollWidth, w.clientWidth]; });
  check(fits[0] <= fits[1], `the candidates table is ${fits[0]} px wide in a card of ${fits[1]} px`);
  // Points at the same place share one label: no two labels are drawn at the same spot.
  const places = await page.$$eval("#pareto text.point-label", ts => ts.map(t => `${t.getAttribute("x")},${t.getAttribute("y")}`));
  check(new Set(places).size === places.length, `labels drawn on top of each other: ${places.join(" ")}`);
  const lateStatus = await page.getAttribute(`tr[data-id="${lateId}"]`, "data-status");
  check(lateStatus !== "completed", `${lateId} is already completed before the test completes it`);
  console.log(`checked: ${status.total} candidates, front ${shownFront.join(" ")}, progress of ${working.map(c => c.id)}; ${lateId} is ${lateStatus}`);
  console.log("ready");

  // Completed by the caller now; the page polls, so it shows without a reload.
  await page.waitForSelector(`tr[data-id="${lateId}"][data-status="completed"]`, { timeout: 20000 });
  await page.waitForSelector(`#pareto circle[data-id="${lateId}"]`, { timeout: 5000 });
  console.log(`${lateId} shows as completed without a reload`);

  // The latency axis draws every completed candidate too (a second screenshot, SCREENSHOT-latency.png).
  await page.click('.switch button[data-axis="latency"]');
  const completed = (await api(`/api/sweeps/${sweep}`)).counts.completed;
  check(await page.locator("#pareto circle.point").count() === completed, "the latency plot misses candidates");

  // Select two candidates: one in the table, one in the plot.
  const curves = [];
  for (const id of [lateId, shownFront[0]]) {
    if (curves.includes(id)) continue;
    if (curves.length === 0) await page.click(`tr[data-id="${id}"]`);
    else await page.click(`#pareto circle[data-id="${id}"]`);
    await page.waitForSelector(`#loss polyline[data-id="${id}"]`, { timeout: 5000 });
    const points = (await page.getAttribute(`#loss polyline[data-id="${id}"]`, "points")).trim().split(/\s+/);
    check(points.length >= 2, `${id}'s loss curve has ${points.length} points`);
    curves.push(id);
  }
  console.log(`loss curves drawn for ${curves.join(", ")}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "") + "-latency.png", fullPage: true });
  await page.click('.switch button[data-axis="params"]');
  await page.screenshot({ path: screenshot, fullPage: true });

  const missing = await page.goto(`${base}/sweeps/no-such-sweep`);
  check(missing.status() === 404, `unknown sweep: status ${missing.status()}`);
  check((await page.textContent("body")).includes("does not exist"), "the 404 page does not say the sweep does not exist");
  check(errors.length === 0, `script errors on the page: ${errors.join("; ")}`);
  console.log("page check: ok");
} catch (e) {
  console.error(`page check failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
