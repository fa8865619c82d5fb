import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, offer } from '../support/test';

/**
 * What a shopper downloads is what the size report counts: Chromium asks for `br`, and the bundle
 * comes over the wire as the `.br` files the release build measured (target/size-report.json).
 */
test.skip(({ isMobile }) => isMobile, 'the bytes on the wire do not depend on the device');

const SHIPPED = ['momentum.js', 'momentum_bg.wasm'];

type Sizes = { raw: number; gzip: number; brotli: number };

function sizeReport(): Record<string, Sizes> {
  const path = join(__dirname, '..', '..', 'target', 'size-report.json');
  return JSON.parse(readFileSync(path, 'utf8')).files;
}

type Wire = { headers: Record<string, string>; headerBytes: number; totalBytes?: number };

test('the bundle goes over the wire as the brotli bytes the size report counts', async ({ page, widget, api }) => {
  const report = sizeReport();
  const wire = new Map<string, Wire>();
  const fileOf = new Map<string, string>();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    const file = SHIPPED.find((name) => new URL(response.url).pathname.endsWith(`/${name}`));
    if (!file) return;
    fileOf.set(requestId, file);
    const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    // On HTTP/1.1, what arrived when the response started is exactly its status line and headers.
    wire.set(file, { headers, headerBytes: response.encodedDataLength });
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const file = fileOf.get(requestId);
    if (file) wire.get(file)!.totalBytes = encodedDataLength;
  });

  await page.goto('/plain.html');
  await widget.expectOffer(await offer(api));
  await expect.poll(() => SHIPPED.filter((file) => wire.get(file)?.totalBytes !== undefined)).toEqual(SHIPPED);

  // Resource Timing sees the same bodies (cross-origin: readable thanks to Timing-Allow-Origin).
  const timing = await page.evaluate((files) => {
    const entries = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    return files.map((file) => {
      const entry = entries.find((e) => new URL(e.name).pathname.endsWith(`/${file}`));
      return { file, encodedBodySize: entry?.encodedBodySize, decodedBodySize: entry?.decodedBodySize };
    });
  }, SHIPPED);

  const seen = SHIPPED.map((file) => {
    const { headers, headerBytes, totalBytes } = wire.get(file)!;
    return {
      file,
      contentEncoding: headers['content-encoding'],
      vary: headers['vary']?.toLowerCase().includes('accept-encoding'),
      bodyBytes: totalBytes! - headerBytes,
    };
  });
  console.log(
    SHIPPED.map((file, i) => `${file}: ${seen[i].bodyBytes} bytes on the wire, report: ${report[file].brotli} brotli`).join('\n'),
  );
  expect(seen).toEqual(
    SHIPPED.map((file) => ({ file, contentEncoding: 'br', vary: true, bodyBytes: report[file].brotli })),
  );
  // The decoded size is the raw file's: the `.br` on disk is from the same build.
  expect(timing).toEqual(
    SHIPPED.map((file) => ({ file, encodedBodySize: report[file].brotli, decodedBodySize: report[file].raw })),
  );
  expect(wire.get('momentum_bg.wasm')!.headers['content-type']).toBe('application/wasm');
  expect(wire.get('momentum.js')!.headers['content-type']).toBe('text/javascript; charset=utf-8');
});
